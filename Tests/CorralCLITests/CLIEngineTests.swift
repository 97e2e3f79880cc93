import CorralEngine
import CorralSandbox
import CorralStore
import CorralTestSupport
import Foundation
import Testing

/// The CLI over the engine: profiles, strict mode and the CPU share on `corral run`, a refused
/// run's exit 65, history through the same store, and a start refused on broken policy data.
@Suite("CLI over the engine", .enabled(if: TestSupport.jailsAvailable))
struct CLIEngineTests {
    static let dangerous = "import os; os.system(\"id\")"

    @Test func aRunRefusedByTheProductionProfileExits65() async throws {
        let out = try await CorralCLI.run(["run", "--profile", "production", "--lang", "python", "-c", Self.dangerous])
        #expect(out.exitCode == 65, "\(out.stderr)")
        #expect(out.stdout.isEmpty, "the program never ran: \(out.stdout)")
        let lines = out.stderrLines
        #expect(lines.contains { $0.hasPrefix("<code>:1:") && $0.contains("critical") || $0.contains("high") }, "findings: \(out.stderr)")
        #expect(lines.last?.hasPrefix("corral: security_violation") == true, "\(out.stderr)")
        #expect(lines.last?.contains("strict mode:") == true)
    }

    @Test func aRefusedRunInJSONHasStatusSecurityViolation() async throws {
        let out = try await CorralCLI.run(["run", "--json", "--strict", "--lang", "python", "-c", Self.dangerous])
        #expect(out.exitCode == 65)
        let object = try out.jsonObject()
        #expect(object["status"] as? String == "security_violation")
        #expect(Set(object.keys) == CLITests.resultKeys.union(["security_findings"]))
        #expect((object["security_findings"] as? [[String: Any]])?.isEmpty == false)
        // No jail ran the program: no output, no CPU, no memory, no time.
        #expect(object["stdout"] as? String == "")
        #expect(object["cpu_time_ms"] as? Double == 0)
        #expect(object["memory_used_mb"] as? Double == 0)
        #expect(object["execution_time_ms"] as? Double == 0)
        #expect(object["exit_code"] is NSNull)
    }

    @Test func strictRunsSafeCode() async throws {
        let out = try await CorralCLI.run(["run", "--strict", "--lang", "python", "-c", "print(6 * 7)"])
        #expect(out.exitCode == 0, "\(out.stderr)")
        #expect(out.stdout == "42\n")
        let json = try await CorralCLI.run(["run", "--json", "--profile", "PRODUCTION", "--lang", "python", "-c", "print(1)"])
        #expect(Set(try json.jsonObject().keys) == CLITests.resultKeys, "profile names in any case; the shape is the result's")
    }

    @Test func anUnknownProfileIsAUsageError() async throws {
        let out = try await CorralCLI.run(["run", "--profile", "staging", "--lang", "python", "-c", "print(1)"])
        #expect(out.exitCode == 64)
        #expect(out.stderr == "corral: unknown profile 'staging'; available: development, production, testing\n", "\(out.stderr)")
        let validate = try await CorralCLI.run(["validate", "--profile", "staging", "--lang", "python", "-"], stdin: Data("print(1)".utf8))
        #expect(validate.exitCode == 64)
        #expect(validate.stderr == out.stderr, "one profile lookup, one message")
    }

    @Test(arguments: ["0", "-5", String(100 * ResourceLimits.hostCores + 1)])
    func aCPUShareOutOfRangeNamesTheFlag(value: String) async throws {
        let out = try await CorralCLI.run(["run", "--cpu-percent", value, "--lang", "python", "-c", "print(1)"])
        #expect(out.exitCode == 64)
        #expect(out.stderr == "corral: --cpu-percent \(value) is out of range: allowed 1...\(100 * ResourceLimits.hostCores)\n", "\(out.stderr)")
    }

    /// Half a core for one second of wall time: about half a second of CPU.
    @Test func theCPUShareReachesTheJail() async throws {
        let out = try await CorralCLI.run(["run", "--json", "--cpu-percent", "50", "--timeout", "1", "--lang", "python", "-c", "while True: pass"])
        let object = try out.jsonObject()
        #expect(object["status"] as? String == "timeout")
        let cpu = object["cpu_time_ms"] as? Double ?? 0
        #expect((350...650).contains(cpu), "cpu_time_ms \(cpu) for 1 s at 50%")
    }

    /// The CLI and the library report the same figure: the program's own wall time, not Corral's
    /// start-up (the CLI process takes longer than the figure it prints).
    @Test func theCLIAndTheLibraryReportTheSameKindOfFigure() async throws {
        let started = ContinuousClock.now
        let out = try await CorralCLI.run(["run", "--json", "--lang", "bash", "-c", "sleep 0.3"])
        let processMs = Double((ContinuousClock.now - started).components.attoseconds) / 1e15
            + Double((ContinuousClock.now - started).components.seconds) * 1000
        let cli = try #require(try out.jsonObject()["execution_time_ms"] as? Double)
        var configuration = EngineConfiguration()
        configuration.workers = 1
        configuration.policyMode = .off
        let engine = try Engine(configuration: configuration, runtime: TestSupport.runtime, history: InMemoryHistoryStore())
        let library = try await engine.execute(ExecuteRequest(code: "sleep 0.3", language: "bash")).result.executionTimeMs
        print("bash sleep 0.3: CLI execution_time_ms \(cli), library \(library), CLI process \(Int(processMs)) ms")
        #expect((300...330).contains(cli), "CLI: \(cli)")
        #expect((300...330).contains(library), "library: \(library)")
        #expect(abs(cli - library) < 30)
        #expect(processMs > cli, "the CLI's own start-up is not in the figure")
    }

    @Test func runRecordsIntoTheHistoryTheOtherCommandsRead() async throws {
        let dir = try CorralCLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try await CorralCLI.run(["run", "--data-dir", dir.path, "--lang", "python", "-c", "print(1)"])
        #expect(run.exitCode == 0, "\(run.stderr)")
        let failing = try await CorralCLI.run(["run", "--data-dir", dir.path, "--lang", "bash", "-c", "exit 3"])
        #expect(failing.exitCode == 3)
        let history = try await CorralCLI.run(["history", "--data-dir", dir.path, "--json"])
        #expect(history.exitCode == 0, "\(history.stderr)")
        let object = try history.jsonObject()
        #expect(object["total"] as? Int == 2)
        let filtered = try await CorralCLI.run(["history", "--data-dir", dir.path, "--json", "--language", "py"])
        #expect(try filtered.jsonObject()["total"] as? Int == 1, "an alias finds its language")
        let stats = try await CorralCLI.run(["stats", "--data-dir", dir.path, "--json"])
        #expect(try stats.jsonObject()["total"] as? Int == 2)
        for bad in [["--limit", "0"], ["--limit", "1001"], ["--status", "fine"], ["--since", "yesterday"]] {
            let out = try await CorralCLI.run(["history", "--data-dir", dir.path] + bad)
            #expect(out.exitCode == 64, "\(bad): \(out.stderr)")
            #expect(out.stderrLines.count == 1)
        }
        let memory = try await CorralCLI.run(["history", "--data-dir", dir.path + "/none"])
        #expect(memory.exitCode == 64 && memory.stderr.contains("no history at"))
    }

    /// A service fails at start; `corral run` loads the rules only when it validates: with the policy
    /// off it runs, with `--strict` the code is refused (exit 65) before any jail, naming the file.
    @Test func brokenPolicyDataStopsServeAndStrictRunNamingTheFile() async throws {
        let dir = try CorralCLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let policy = dir.appendingPathComponent("policy")
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/CorralPolicy/Resources")
        try FileManager.default.copyItem(at: shipped, to: policy)
        let rules = policy.appendingPathComponent("rules/python.json")
        try Data("not json".utf8).write(to: rules)
        let env = ["CORRAL_POLICY_RESOURCES": policy.path]
        let serve = try await CorralCLI.run(["serve", "--port", "0", "--history", "memory"], environment: env)
        #expect(serve.exitCode == 125, "\(serve.stderr)")
        #expect(serve.stderr.contains(rules.path), "names the file: \(serve.stderr)")
        #expect(!serve.stderr.contains("listening"), "never bound: \(serve.stderr)")
        let strict = try await CorralCLI.run(["run", "--strict", "--lang", "python", "-c", "print(1)"], environment: env)
        #expect(strict.exitCode == 65, "\(strict.stderr)")
        #expect(strict.stdout.isEmpty && strict.stderr.contains("analyzer_unavailable") && strict.stderr.contains(rules.path), "\(strict.stderr)")
        let unchecked = try await CorralCLI.run(["run", "--lang", "python", "-c", "print(1)"], environment: env)
        #expect(unchecked.exitCode == 0 && unchecked.stdout == "1\n", "\(unchecked.stderr)")
    }

    @Test func validateTakesThresholdsInAnyCase() async throws {
        let code = Data("import os\nos.system('id')\n".utf8)
        let upper = try await CorralCLI.run(["validate", "--strict", "--threshold", "CRITICAL", "--lang", "python", "--json", "-"], stdin: code)
        let lower = try await CorralCLI.run(["validate", "--strict", "--threshold", "critical", "--lang", "python", "--json", "-"], stdin: code)
        #expect(upper.exitCode == lower.exitCode)
        #expect(try upper.jsonObject()["threshold"] as? String == "critical")
        let bad = try await CorralCLI.run(["validate", "--threshold", "severe", "--lang", "python", "-"], stdin: code)
        #expect(bad.exitCode == 64)
        #expect(bad.stderr == "corral: threshold must be one of low, medium, high, critical; got 'severe'\n", "\(bad.stderr)")
    }
}
