@testable import CorralRuntimes
import CorralSandbox
import CorralTestSupport
import Foundation
import Testing

/// Cross-tenant cache poisoning: an attacker compiles a victim's exact program with an environment
/// that changes the build; the victim's later run must still run the victim's program.
@Suite(.enabled(if: TestSupport.jailsAvailable))
struct CompilePoisoningTests {
    @Test("the request's environment never reaches the compiler, so it cannot poison the shared artifact",
          arguments: CompileAttack.all)
    func environmentCannotPoisonTheCache(_ attack: CompileAttack) async throws {
        try #require(LanguageTests.available.contains(attack.language), "\(attack.language) is not installed: run scripts/bootstrap")

        // The attack works: with the attacker's environment given to the compiler (as the request's was
        // before the fix), the victim's run of that build is not the victim's program.
        let before = try await Self.victimRunOfBuildWithAttackerEnvironment(attack)
        if let marker = attack.marker {
            #expect((before.stdout + before.stderr).contains(marker),
                    "the attack did not change the build, so this test would prove nothing: \(before)")
        } else {
            #expect(before.status != .success && !before.stdout.hasPrefix(attack.victimOutput),
                    "the attack did not break the build, so this test would prove nothing: \(before)")
        }

        // Through the runtime, one fresh cache: the attacker first, then the victim.
        let (runtime, dir) = CompileCacheTests.freshRuntime()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let attacker = await runtime.run(RunRequest(language: attack.language, code: attack.victimCode, environment: attack.environment))
        #expect(attacker.compile?.cached == false)
        #expect(attacker.status == .success, "\(attacker.errorMessage ?? "") \(attacker.compile?.stderr ?? "") \(attacker.stderr)")
        // The attacker's environment applies to its own run only, not to what it compiled.
        if let marker = attack.marker {
            #expect(!(attacker.stdout + attacker.stderr).contains(marker), "\(attacker)")
        }

        let victim = await runtime.run(RunRequest(language: attack.language, code: attack.victimCode))
        #expect(victim.compile?.cached == true, "the victim reuses the build the attacker's request made")
        #expect(victim.status == .success, "\(victim.errorMessage ?? "") \(victim.stderr)")
        #expect(victim.stdout.hasPrefix(attack.victimOutput), "\(victim.stdout)")
        if let marker = attack.marker {
            #expect(!(victim.stdout + victim.stderr).contains(marker), "the victim ran the attacker's build: \(victim)")
        }
    }

    /// Builds the victim's program with the compile environment of the code before the fix (the
    /// catalog's plus the request's), then runs that build the way a victim's clean request would.
    static func victimRunOfBuildWithAttackerEnvironment(_ attack: CompileAttack) async throws -> RunResult {
        let runtime = Runtime(sandbox: TestSupport.sandbox)
        let language = try #require(runtime.catalog.language(named: attack.language))
        let attacker = RunRequest(language: attack.language, code: attack.victimCode, environment: attack.environment)
        let stage = try #require(runtime.compileStage(for: attacker, language: language))
        let unfixed = CompileStage(sandbox: stage.sandbox, language: language, argv: stage.argv,
                                   environment: runtime.environment(language, attacker), files: stage.files,
                                   readOnlyPaths: stage.readOnlyPaths, limits: stage.limits)
        let artifacts = NSTemporaryDirectory() + "corral-poison-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: artifacts) }
        let built = await unfixed.compile(into: artifacts)
        #expect(built.result.isCacheable, "the attacker's build must succeed to be cached: \(built.result)")
        let victim = RunRequest(language: attack.language, code: attack.victimCode)
        return await runtime.sandbox.run(runtime.jailSpec(for: victim, language: language, artifacts: artifacts))
    }

    @Test("the compile stage's environment is the catalog's, whatever the request sets")
    func compileEnvironmentIsTheCatalogs() throws {
        let runtime = Runtime(sandbox: TestSupport.sandbox)
        for language in runtime.catalog.languages where language.isCompiled {
            let request = RunRequest(language: language.name, code: "", environment: [("GOFLAGS", "-x"), ("PATH", "/tmp"), ("NEW", "1")])
            let stage = try #require(runtime.compileStage(for: request, language: language))
            #expect(stage.environment.map(\.key) == Runtime.catalogEnvironment(language).map(\.key))
            #expect(stage.environment.map(\.value) == Runtime.catalogEnvironment(language).map(\.value))
            #expect(!stage.environment.contains { $0.key == "NEW" })
            // The run keeps the request's environment.
            let run = runtime.jailSpec(for: request, language: language, artifacts: "/nonexistent")
            #expect(run.environment.contains { $0.key == "NEW" && $0.value == "1" })
            #expect(run.environment.contains { $0.key == "PATH" && $0.value == "/tmp" })
        }
    }
}
