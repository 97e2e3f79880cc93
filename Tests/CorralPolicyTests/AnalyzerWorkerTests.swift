import CorralPolicy
import CorralSandbox
import CorralTestSupport
import Foundation
import Glibc
import Testing

/// Warm analyzer workers (issue 10, item 4): reused across validations, replaced when they fail,
/// failing exactly as a fresh analyzer jail fails (strict refuses, warn warns), never mixing up
/// concurrent validations' reports.
@Suite("Analyzer workers", .enabled(if: TestSupport.jailsAvailable))
struct AnalyzerWorkerTests {
    static func validator(maximumWorkers: Int = 1, rules: RuleBook = PolicyTestSupport.rules) -> PolicyValidator {
        var configuration = AnalyzerWorkers.Configuration()
        configuration.maximumWorkers = maximumWorkers
        return PolicyValidator(sandbox: TestSupport.sandbox, rules: rules, workers: configuration)
    }

    @Test func oneWorkerServesManyValidations() async throws {
        let validator = Self.validator()
        defer { validator.shutdown() }
        let workers = try #require(validator.workers)
        let first = await validator.validate(code: "import subprocess\n", language: "python")
        let pids = workers.workerPIDs(language: "python")
        let second = await validator.validate(code: "x = 1\nimport socket\n", language: "python")
        #expect(first.analysis == .syntaxTree && first.error == nil && first.imports == ["subprocess"], "\(first.dump)")
        #expect(second.analysis == .syntaxTree && second.imports == ["socket"], "\(second.dump)")
        #expect(pids.count == 1 && workers.workerPIDs(language: "python") == pids)
        #expect(workers.workersStarted == 1)
    }

    @Test func aKilledWorkerIsReplaced() async throws {
        let validator = Self.validator()
        defer { validator.shutdown() }
        let workers = try #require(validator.workers)
        _ = await validator.validate(code: "print(1)\n", language: "python")
        let killed = try #require(workers.workerPIDs(language: "python").first)
        #expect(kill(killed, SIGKILL) == 0)
        // Wait for the kill to land (the init a zombie): until then the worker may still answer, rightly.
        for _ in 0..<200 where !Self.isZombie(killed) { try await Task.sleep(for: .milliseconds(10)) }
        let report = await validator.validate(code: "import os\nos.system('id')\n", language: "python")
        #expect(report.analysis == .syntaxTree && report.error == nil && !report.findings.isEmpty, "\(report.dump)")
        #expect(!workers.workerPIDs(language: "python").contains(killed))
    }

    static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(close, offsetBy: 2)...].hasPrefix("Z")
    }

    @Test func aHugeProgramPastTheDeadlineFailsAloneAndTheNextValidationWorks() async throws {
        let validator = Self.validator()
        defer { validator.shutdown() }
        var tight = ValidationOptions()
        tight.timeoutSeconds = 0.2
        let huge = String(repeating: "x = [1, 2, 3] + [4, 5, 6]\nif x: y = {'a': x}\n", count: 40_000)
        _ = await validator.validate(code: "print(0)\n", language: "python") // a warm worker: the deadline covers the analysis alone
        let failed = await validator.validate(code: huge, language: "python", options: tight)
        #expect(failed.error?.code == .timeout && failed.analysis == .patterns, "\(failed.dump)")
        #expect(Policy.decide(failed, mode: .strict).allowsRun == false)
        #expect(Policy.decide(failed, mode: .warn).allowsRun)
        let next = await validator.validate(code: "import ctypes\n", language: "python")
        #expect(next.error == nil && next.imports == ["ctypes"], "\(next.dump)")
    }

    @Test func deepNestingGivesTheOneShotReport() async throws {
        let validator = Self.validator()
        defer { validator.shutdown() }
        for code in [String(repeating: "(", count: 100_000) + "1" + String(repeating: ")", count: 100_000),
                     String(repeating: "-", count: 200_000) + "1\n"] {
            let warm = await validator.validate(code: code, language: "python")
            let fresh = await PolicyTestSupport.validate(code)
            #expect(warm.error?.code == fresh.error?.code && warm.findings == fresh.findings, "warm \(warm.dump)\nfresh \(fresh.dump)")
        }
        let js = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let warm = await validator.validate(code: js, language: "javascript")
        #expect(warm.error?.code == .tooComplex, "\(warm.dump)")
        let next = await validator.validate(code: "require('child_process')\n", language: "javascript")
        #expect(next.error == nil && next.imports == ["child_process"], "\(next.dump)")
    }

    @Test func concurrentValidationsGetTheirOwnReports() async {
        let validator = Self.validator(maximumWorkers: 2)
        defer { validator.shutdown() }
        let reports = await withTaskGroup(of: (Int, ValidationReport).self) { group in
            for n in 0..<32 {
                // Program n imports module m<n> on line n + 1: a report given to the wrong caller shows.
                let code = String(repeating: "\n", count: n) + "import m\(n)\n"
                let language = n % 4 == 3 ? "javascript" : "python"
                let source = language == "python" ? code : String(repeating: "\n", count: n) + "require('m\(n)')\n"
                group.addTask { (n, await validator.validate(code: source, language: language)) }
            }
            return await group.reduce(into: [Int: ValidationReport]()) { $0[$1.0] = $1.1 }
        }
        for n in 0..<32 {
            let report = reports[n]
            #expect(report?.error == nil && report?.imports == ["m\(n)"], "\(n): \(report?.dump ?? "none")")
        }
        #expect((validator.workers?.workersStarted ?? 0) <= 4)
    }

    @Test func workersReportWhatFreshJailsReportOnTheCorpus() async throws {
        let validator = Self.validator(maximumWorkers: 2)
        defer { validator.shutdown() }
        let directory = PolicyTestSupport.corpusDirectory()
        for language in ["python", "javascript"] {
            for label in ["benign", "dangerous"] {
                let folder = directory.appendingPathComponent("\(language)/\(label)")
                for file in try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() {
                    let code = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
                    let warm = await validator.validate(code: code, language: language)
                    let fresh = await PolicyTestSupport.validate(code, language)
                    #expect(warm.findings == fresh.findings && warm.error == fresh.error && warm.imports == fresh.imports,
                            "\(language)/\(label)/\(file)\nwarm \(warm.dump)\nfresh \(fresh.dump)")
                }
            }
        }
    }
}

/// A stand-in Python analyzer that misbehaves on request: the worker's failures, end to end.
@Suite("Analyzer worker failures", .enabled(if: TestSupport.jailsAvailable))
struct AnalyzerWorkerFailureTests {
    static let script = """
    import os, signal, sys, time
    i, o = sys.stdin.buffer, sys.stdout.buffer
    def reply(b):
        o.write(len(b).to_bytes(4, "big") + b); o.flush()
    while True:
        h = i.read(4)
        if len(h) < 4: break
        code = i.read(int.from_bytes(h, "big"))
        if b"HANG" in code: time.sleep(100)
        elif b"CRASH" in code: os.kill(os.getpid(), signal.SIGSEGV)
        elif b"EXIT" in code: sys.exit(3)
        elif b"GARBAGE" in code: reply(b"not json")
        else: reply(b'{"findings":[],"imports":[],"truncated":false,"error":null}')
    """

    static func rules(script: String = script) throws -> RuleBook {
        let shipped = PolicyTestSupport.rules
        return try RuleBook(ruleSets: shipped.ruleSets, sensitivePaths: shipped.sensitivePaths,
                            analyzerScripts: [.python: Array(script.utf8)])
    }

    @Test(arguments: [("HANG", AnalysisFailure.Code.timeout), ("CRASH", .analyzerCrashed), ("EXIT", .analyzerFailed),
                      ("GARBAGE", .analyzerFailed)])
    func aFailingWorkerFailsTheValidationAndIsReplaced(marker: String, expected: AnalysisFailure.Code) async throws {
        let validator = AnalyzerWorkerTests.validator(rules: try Self.rules())
        defer { validator.shutdown() }
        let workers = try #require(validator.workers)
        var options = ValidationOptions()
        options.timeoutSeconds = 3 // HANG's wait; generous for a fresh worker's start on a loaded host
        let before = await validator.validate(code: "print(1)\n", language: "python", options: options)
        #expect(before.error == nil && before.analysis == .syntaxTree, "\(before.dump)")
        let pid = workers.workerPIDs(language: "python")
        let failed = await validator.validate(code: "# \(marker)\nprint(2)\n", language: "python", options: options)
        #expect(failed.error?.code == expected && failed.analysis == .patterns, "\(failed.dump)")
        #expect(failed.error?.leavesCodeUnchecked == true)
        #expect(!Policy.decide(failed, mode: .strict).allowsRun, "strict mode must refuse code it could not analyse")
        #expect(Policy.decide(failed, mode: .warn).allowsRun)
        let after = await validator.validate(code: "print(3)\n", language: "python", options: options)
        #expect(after.error == nil && after.analysis == .syntaxTree, "\(after.dump)")
        #expect(workers.workerPIDs(language: "python") != pid)
    }

    @Test func strictModeRefusesWhenNoWorkerCanRun() async throws {
        let validator = AnalyzerWorkerTests.validator(rules: try Self.rules(script: "import sys\nsys.exit(3)\n"))
        defer { validator.shutdown() }
        for _ in 0..<3 {
            let report = await validator.validate(code: "print(1)\n", language: "python")
            #expect(report.error?.code == .analyzerFailed, "\(report.dump)")
            #expect(!Policy.decide(report, mode: .strict).allowsRun)
            #expect(Policy.decide(report, mode: .warn).allowsRun)
        }
        validator.shutdown()
        let afterShutdown = await validator.validate(code: "print(1)\n", language: "python")
        #expect(afterShutdown.error?.code == .analyzerUnavailable && !Policy.decide(afterShutdown, mode: .strict).allowsRun)
    }
}
