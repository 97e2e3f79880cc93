@testable import CorralEngine
import CorralPolicy
import CorralRuntimes
import CorralSandbox
import CorralStore
import CorralTestSupport
import Glibc
import Testing

/// Policy modes through the engine: off runs without analysis, warn runs and reports, strict
/// refuses before the program's jail exists, and strict never runs code it could not check.
/// Serialized: the tests count the jails the process's one sandbox starts.
@Suite("Policy modes", .serialized, .enabled(if: TestSupport.jailsAvailable))
struct PolicyModeTests {
    static let dangerousPython = "import os; os.system(\"id\")"

    /// A sandbox of these tests' own: its `jailsStarted` counts only their jails (other suites run
    /// theirs at the same time on the shared one).
    static let sandbox: Sandbox = {
        do { return try Sandbox() } catch { fatalError("the sandbox cannot start on this host: \(error)") }
    }()
    static let runtime = Runtime(sandbox: sandbox)

    static func engine(_ configuration: EngineConfiguration, validator: PolicyValidator? = nil) throws -> Engine {
        try Engine(configuration: configuration, runtime: runtime, history: InMemoryHistoryStore(), validator: validator)
    }
    /// A bash program with a critical finding (bash is analysed with patterns, in no jail).
    static let dangerousBash = "sudo id"

    /// Runs `request` and returns its response with the number of jails started meanwhile.
    func counted(_ engine: Engine, _ request: ExecuteRequest) async throws -> (ExecutionResponse, Int) {
        let before = Self.sandbox.jailsStarted
        let response = try await engine.execute(request)
        return (response, Self.sandbox.jailsStarted - before)
    }

    /// An engine whose analyzer starts in a fresh jail per validation (no warm workers), so that
    /// every jail of a request shows in `jailsStarted`.
    static func oneShot(_ mode: PolicyMode) throws -> Engine {
        var configuration = EngineFixtures.configuration(policyMode: mode)
        configuration.analyzerWorkers = nil
        return try Self.engine(configuration)
    }

    @Test func offRunsWithoutAnalysis() async throws {
        let engine = try Self.oneShot(.off)
        let (response, jails) = try await counted(engine, .make("python", Self.dangerousPython))
        #expect(response.result.status == .success)
        #expect(response.result.stdout.contains("uid="))
        #expect(response.securityFindings == nil)
        #expect(jails == 1, "the program's jail only, no analyzer")
    }

    @Test func warnRunsAndReportsFindings() async throws {
        let engine = try Self.oneShot(.warn)
        let (response, jails) = try await counted(engine, .make("python", Self.dangerousPython))
        #expect(response.result.status == .success)
        #expect(response.securityFindings?.contains { $0.severity >= .high } == true)
        #expect(jails == 2, "the analyzer's jail and the program's")
    }

    /// Warm analyzer workers (the default): the first validation starts a worker, later ones start
    /// no jail but the program's; the worker dies with the engine's shutdown.
    @Test func warnOnWarmWorkersStartsOnlyTheProgramsJail() async throws {
        let engine = try Self.engine(EngineFixtures.configuration(policyMode: .warn))
        let workers = try #require(try engine.policy.validator.get().workers)
        let (first, _) = try await counted(engine, .make("python", Self.dangerousPython))
        #expect(first.securityFindings?.contains { $0.severity >= .high } == true)
        let (second, jails) = try await counted(engine, .make("python", Self.dangerousPython + "  # another program"))
        #expect(second.result.status == .success && second.securityFindings?.isEmpty == false)
        #expect(jails == 1, "the program's jail only: the analyzer's worker was warm")
        #expect(workers.workersStarted == 1)
        let pids = workers.workerPIDs(language: "python")
        await engine.shutdown()
        #expect(pids.count == 1 && pids.allSatisfy { kill($0, 0) != 0 })
        #expect(workers.workerPIDs(language: "python").isEmpty)
    }

    @Test func strictRefusesBeforeTheProgramsJail() async throws {
        let engine = try Self.oneShot(.strict)
        let (python, pythonJails) = try await counted(engine, .make("python", Self.dangerousPython))
        #expect(python.result.status == .securityViolation)
        #expect(python.result.errorMessage?.hasPrefix("strict mode:") == true)
        #expect(python.securityFindings?.isEmpty == false)
        #expect(python.queueTimeMs == nil, "a refused run never reaches admission")
        #expect(pythonJails == 1, "only the analyzer's jail (Python is parsed in one); the program's never started")

        let (bash, bashJails) = try await counted(engine, .make("bash", Self.dangerousBash))
        #expect(bash.result.status == .securityViolation)
        #expect(bashJails == 0, "bash is checked with patterns: no jail at all")
        #expect(bash.result.cpuTimeMs == 0 && bash.result.memoryUsedMb == 0 && bash.result.executionTimeMs == 0)

        let (safe, safeJails) = try await counted(engine, .make("python", "print(6 * 7)"))
        #expect(safe.result.status == .success && safe.result.stdout == "42\n")
        #expect(safeJails == 2)
    }

    @Test func theProductionProfileIsStrictAndStrictModeFalseWarns() async throws {
        let engine = try Self.engine(EngineFixtures.configuration(policyMode: .off))
        let (refused, jails) = try await counted(engine, .make("bash", Self.dangerousBash) { $0.profile = "production" })
        #expect(refused.result.status == .securityViolation)
        #expect(jails == 0)
        let (warned, _) = try await counted(engine, .make("bash", Self.dangerousBash) { $0.profile = "production"; $0.strictMode = false })
        #expect(warned.result.status != .securityViolation)
        #expect(warned.securityFindings?.isEmpty == false)
        let (strict, _) = try await counted(engine, .make("bash", Self.dangerousBash) { $0.strictMode = true })
        #expect(strict.result.status == .securityViolation)
    }

    /// Fail closed: a validator whose syntax-tree analysis cannot run (no sandbox for the parser)
    /// leaves Python unchecked, so strict mode refuses even harmless code; warn mode still runs it.
    @Test func strictNeverRunsCodeItCouldNotCheck() async throws {
        let crippled = PolicyValidator(sandbox: nil, rules: try RuleBook.shipped())
        let strict = try Self.engine(EngineFixtures.configuration(policyMode: .strict), validator: crippled)
        let (refused, jails) = try await counted(strict, .make("python", "print(1)"))
        #expect(refused.result.status == .securityViolation)
        #expect(refused.result.errorMessage?.contains("could not be analysed") == true, "\(refused.result.errorMessage ?? "")")
        #expect(jails == 0)
        let warn = try Self.engine(EngineFixtures.configuration(policyMode: .warn), validator: crippled)
        #expect(try await warn.execute(.make("python", "print(1)")).result.status == .success)
    }

    /// Every source file of a multi-file program is checked, and the refusal names the file.
    @Test func everySourceFileIsChecked() async throws {
        let engine = try Self.engine(EngineFixtures.configuration(policyMode: .strict))
        var options = ExecuteOptions()
        options.files = [JailFile(path: "main.sh", contents: Array("echo hi\n. ./helper.sh\n".utf8)),
                         JailFile(path: "helper.sh", contents: Array("sudo id\n".utf8))]
        let before = Self.sandbox.jailsStarted
        let response = try await engine.execute(.make("bash", ""), options: options)
        #expect(response.result.status == .securityViolation)
        #expect(response.result.errorMessage?.hasPrefix("helper.sh: strict mode:") == true, "\(response.result.errorMessage ?? "")")
        #expect(Self.sandbox.jailsStarted == before)
    }
}
