import CorralEngine
import CorralPolicy
import CorralSandbox
import CorralStore
import Foundation

/// `corral-bench validate`, second part: what `warn` mode costs a request (issue 10, item 4).
/// A small Python program executed through the engine with policy off, warn on warm analyzer
/// workers, and warn with a fresh analyzer jail per request (the path before workers), requests
/// interleaved so that drift on the host hits every mode alike; each request's code is distinct
/// (a counter in a comment) so that the validation cache hides nothing. Then the validator
/// alone, warm workers against fresh jails, on the same distinct programs. The target is checked
/// on `corral serve`'s default path (warm Python, its fork-server), where the run is short and the
/// validation runs beside it; the engines without pools run every request in a cold jail.
extension ValidateBench {
    static let warnTargetMs = 2.0

    struct WarnOverhead: Encodable, Sendable {
        var offP50Ms: Double, offP95Ms: Double
        var warnP50Ms: Double, warnP95Ms: Double
        var warnFreshJailP50Ms: Double, warnFreshJailP95Ms: Double
        var overheadP50Ms: Double, overheadP95Ms: Double
        var freshJailOverheadP50Ms: Double
        var validationWorkerP50Ms: Double, validationWorkerP95Ms: Double
        var validationFreshJailP50Ms: Double, validationFreshJailP95Ms: Double
        /// The same with `corral serve`'s default pools (Python's fork-server): the target's measure.
        var servedOffP50Ms: Double, servedWarnP50Ms: Double, servedOverheadP50Ms: Double
        var failures: Int
        var targetMs: Double
        var targetMet: Bool

        enum CodingKeys: String, CodingKey {
            case failures
            case offP50Ms = "off_p50_ms", offP95Ms = "off_p95_ms", warnP50Ms = "warn_p50_ms", warnP95Ms = "warn_p95_ms"
            case warnFreshJailP50Ms = "warn_fresh_jail_p50_ms", warnFreshJailP95Ms = "warn_fresh_jail_p95_ms"
            case overheadP50Ms = "warn_overhead_p50_ms", overheadP95Ms = "warn_overhead_p95_ms"
            case freshJailOverheadP50Ms = "warn_fresh_jail_overhead_p50_ms"
            case validationWorkerP50Ms = "validation_worker_p50_ms", validationWorkerP95Ms = "validation_worker_p95_ms"
            case validationFreshJailP50Ms = "validation_fresh_jail_p50_ms", validationFreshJailP95Ms = "validation_fresh_jail_p95_ms"
            case servedOffP50Ms = "serve_pools_off_p50_ms", servedWarnP50Ms = "serve_pools_warn_p50_ms"
            case servedOverheadP50Ms = "serve_pools_warn_overhead_p50_ms"
            case targetMs = "target_overhead_p50_ms", targetMet = "target_met"
        }
    }

    /// The small program of every request; `n` makes each one's code (and hash) distinct.
    static func smallProgram(_ n: Int, _ mode: String) -> String {
        "# request \(n) (\(mode))\nimport json\nvalues = [i * i for i in range(10)]\nprint(json.dumps({'sum': sum(values)}))\n"
    }

    static func warnOverhead(sandbox: Sandbox, options: BenchOptions) async throws -> (WarnOverhead, [BenchResult], BenchTable) {
        func engine(_ mode: PolicyMode, workers: Bool) throws -> Engine {
            var configuration = EngineConfiguration()
            configuration.cacheEnabled = false
            configuration.policyMode = mode
            if !workers { configuration.analyzerWorkers = nil }
            return try Engine(configuration: configuration, sandbox: sandbox, history: InMemoryHistoryStore())
        }
        // What `corral serve` runs by default: Python warmed, its runs forks of a zygote; one runtime
        // (its pools) shared by the policy-off and the warn engine, so that both take the same path.
        var served = EngineConfiguration()
        served.cacheEnabled = false
        served.warmPools.prewarm = ["python"]
        served.warmPools.forkServers = ["python"]
        served.policyMode = .off
        let servedOff = try Engine(configuration: served, sandbox: sandbox, history: InMemoryHistoryStore())
        served.policyMode = .warn
        let servedWarn = try Engine(configuration: served, runtime: servedOff.runtime, history: InMemoryHistoryStore())
        let modes: [(name: String, engine: Engine)] = [
            ("off", try engine(.off, workers: false)), ("warn", try engine(.warn, workers: true)),
            ("warn, fresh jail", try engine(.warn, workers: false)),
            ("off, serve's pools", servedOff), ("warn, serve's pools", servedWarn),
        ]
        printError("validate: warn overhead: \(options.warmup) warm-up + \(options.iterations) executions per mode, interleaved…\n")
        var samples = Array(repeating: [Double](), count: modes.count)
        var failures = 0
        for n in -options.warmup..<options.iterations {
            for (index, mode) in modes.enumerated() {
                var request = ExecuteRequest(code: smallProgram(n, mode.name), language: "python")
                request.useCache = false
                let start = SpawnTimer.monotonicNanoseconds()
                let response = try? await mode.engine.execute(request)
                let ms = Double(SpawnTimer.monotonicNanoseconds() - start) / 1e6
                if response?.result.status != .success { failures += 1 }
                if n >= 0 { samples[index].append(ms) }
            }
        }
        for mode in modes { await mode.engine.shutdown(closingRuntime: mode.engine !== servedWarn) }

        // The validator alone: the cost `warn` adds when a request's run does not hide it.
        let rules = try RuleBook.shipped()
        let warm = PolicyValidator(sandbox: sandbox, rules: rules, workers: AnalyzerWorkers.Configuration())
        let fresh = PolicyValidator(sandbox: sandbox, rules: rules)
        defer { warm.shutdown() }
        var validation: [[Double]] = [[], []]
        for n in -options.warmup..<options.iterations {
            for (index, validator) in [warm, fresh].enumerated() {
                let start = SpawnTimer.monotonicNanoseconds()
                let report = await validator.validate(code: smallProgram(n, "validate"), language: "python")
                let ms = Double(SpawnTimer.monotonicNanoseconds() - start) / 1e6
                if report.analysis != .syntaxTree || report.error != nil { failures += 1 }
                if n >= 0 { validation[index].append(ms) }
            }
        }

        let off = LatencySummary(milliseconds: samples[0]), warn = LatencySummary(milliseconds: samples[1])
        let freshJail = LatencySummary(milliseconds: samples[2])
        let servedOffSummary = LatencySummary(milliseconds: samples[3]), servedWarnSummary = LatencySummary(milliseconds: samples[4])
        let servedOverhead = servedWarnSummary.p50 - servedOffSummary.p50
        let workerValidation = LatencySummary(milliseconds: validation[0]), freshValidation = LatencySummary(milliseconds: validation[1])
        let overhead = warn.p50 - off.p50
        let figures = WarnOverhead(
            offP50Ms: rounded(off.p50, places: 3), offP95Ms: rounded(off.p95, places: 3),
            warnP50Ms: rounded(warn.p50, places: 3), warnP95Ms: rounded(warn.p95, places: 3),
            warnFreshJailP50Ms: rounded(freshJail.p50, places: 3), warnFreshJailP95Ms: rounded(freshJail.p95, places: 3),
            overheadP50Ms: rounded(overhead, places: 3), overheadP95Ms: rounded(warn.p95 - off.p95, places: 3),
            freshJailOverheadP50Ms: rounded(freshJail.p50 - off.p50, places: 3),
            validationWorkerP50Ms: rounded(workerValidation.p50, places: 3), validationWorkerP95Ms: rounded(workerValidation.p95, places: 3),
            validationFreshJailP50Ms: rounded(freshValidation.p50, places: 3), validationFreshJailP95Ms: rounded(freshValidation.p95, places: 3),
            servedOffP50Ms: rounded(servedOffSummary.p50, places: 3), servedWarnP50Ms: rounded(servedWarnSummary.p50, places: 3),
            servedOverheadP50Ms: rounded(servedOverhead, places: 3),
            failures: failures, targetMs: warnTargetMs, targetMet: servedOverhead < warnTargetMs)
        let results = [
            BenchResult(workload: "python small, engine", mode: "policy off", summary: off),
            BenchResult(workload: "python small, engine", mode: "policy warn (workers)", summary: warn, baselineP50: off.p50),
            BenchResult(workload: "python small, engine", mode: "policy warn (fresh jail)", summary: freshJail, baselineP50: off.p50),
            BenchResult(workload: "python small, serve's pools", mode: "policy off", summary: servedOffSummary),
            BenchResult(workload: "python small, serve's pools", mode: "policy warn", summary: servedWarnSummary, baselineP50: servedOffSummary.p50),
            BenchResult(workload: "python small, validator", mode: "warm worker", summary: workerValidation),
            BenchResult(workload: "python small, validator", mode: "fresh jail", summary: freshValidation),
        ]
        func row(_ name: String, _ s: LatencySummary, _ base: LatencySummary?) -> [String] {
            [name, "\(s.count)", String(format: "%.2f", s.p50), String(format: "%.2f", s.p95),
             base.map { String(format: "%+.2f", s.p50 - $0.p50) } ?? "", base.map { String(format: "%+.2f", s.p95 - $0.p95) } ?? ""]
        }
        let table = BenchTable(
            title: "warn-mode cost per request (ms)",
            header: ["mode", "samples", "p50", "p95", "p50 vs off", "p95 vs off"],
            rows: [row("execute, policy off", off, nil), row("execute, warn (warm workers)", warn, off),
                   row("execute, warn (fresh jail)", freshJail, off),
                   row("execute, serve's pools, policy off", servedOffSummary, nil),
                   row("execute, serve's pools, warn", servedWarnSummary, servedOffSummary),
                   row("validate only, warm worker", workerValidation, nil),
                   row("validate only, fresh jail", freshValidation, nil)],
            textColumns: 1)
        return (figures, results, table)
    }
}
