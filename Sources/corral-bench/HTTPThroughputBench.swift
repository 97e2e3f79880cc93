import Foundation
import Glibc

/// `corral-bench http-throughput`: `corral serve` (its defaults) under C concurrent keep-alive
/// clients for a fixed time, next to the same parallelism of bare `python3 -c pass` runs in the
/// same run; the cache-hit latency of one client; and the memory of the whole server process
/// tree at idle (warm pools, jail stubs and all).
enum HTTPThroughputBench {
    static let throughputTarget = 300.0
    static let ratioTarget = 1.5
    static let cacheHitP50TargetMs = 1.0
    static let idleTreeRSSTargetMB = 150.0

    static let section = BenchSection(
        name: "http-throughput",
        summary: "corral serve: C keep-alive clients for S seconds (Python hello, no cache) vs bare python3 at the same parallelism; cache-hit p50; idle RSS of the process tree",
        optionsHelp: [
            "--concurrency N     clients (threads, one keep-alive connection each) and bare runners (default 32)",
            "--seconds S         length of the load and of the bare run (default 20; 5 with --quick)",
            "--idle-seconds S    idle time before the RSS is read (default 5)",
            "--corral PATH       the corral binary (default: next to corral-bench)",
            "--keep 0|1          keep the server's data directory and log (default 0)",
        ],
        iterationsMeaning: "sequential cache-hit requests of the one-client row",
        defaultIterations: 500, minimumIterations: 200, quickIterations: 100, defaultWarmup: 10,
        run: { options in try await run(options) })

    struct Details: Sendable, Encodable {
        var corralBinary: String
        var serverArguments: [String]
        var concurrency: Int
        var seconds: Double
        var requests: Int
        var ok: Int
        var failures: Int
        var httpStatus: [String: Int]
        var transportErrors: [String: Int]
        var requestsPerSecond: Double
        var bareRunsPerSecond: Double
        var bareFailures: Int
        var ratio: Double?
        var idleServerRSSMB: Double?
        var idleDescendantsRSSMB: Double?
        var idleDescendants: Int?
        var idleTreeRSSMB: Double?
        var idleTreePSSMB: Double?
        var treeRSSAfterLoadMB: Double?
        var targets: [BenchTarget]

        enum CodingKeys: String, CodingKey {
            case concurrency, seconds, requests, ok, failures, ratio, targets
            case corralBinary = "corral_binary", serverArguments = "server_arguments"
            case httpStatus = "http_status", transportErrors = "transport_errors"
            case requestsPerSecond = "requests_per_second", bareRunsPerSecond = "bare_runs_per_second", bareFailures = "bare_failures"
            case idleServerRSSMB = "idle_server_rss_mb", idleDescendantsRSSMB = "idle_descendants_rss_mb"
            case idleDescendants = "idle_descendant_processes", idleTreeRSSMB = "idle_tree_rss_mb"
            case idleTreePSSMB = "idle_tree_pss_mb"
            case treeRSSAfterLoadMB = "tree_rss_after_load_mb"
        }
    }

    static func run(_ options: BenchOptions) async throws -> BenchReport {
        try options.checkSectionOptions(known: ["concurrency", "seconds", "idle-seconds", "corral", "keep"])
        func number(_ name: String, _ fallback: Double, minimum: Double) throws(BenchUsageError) -> Double {
            guard let text = options.sectionOptions[name] else { return fallback }
            guard let v = Double(text), v >= minimum, v < 1e6 else { throw BenchUsageError(message: "--\(name) needs a number from \(minimum), not '\(text)'") }
            return v
        }
        let concurrency = Int(try number("concurrency", 32, minimum: 1))
        let seconds = try number("seconds", options.allowFewIterations ? 5 : 20, minimum: 1)
        let idleSeconds = try number("idle-seconds", 5, minimum: 0)
        let keep = try options.flag("keep", default: false)
        let binary = options.sectionOptions["corral"] ?? LoadBench.corralNextToBench()

        let served = try await BenchServer.start(binary: binary, section: section.name)
        let tag = served.tag
        var failureMessages: [String] = []
        var results: [BenchResult] = []
        let details: Details
        do {
            printError("http-throughput: idling \(idleSeconds) s for the RSS of the server's process tree…\n")
            try await Task.sleep(for: .milliseconds(Int(idleSeconds * 1000)))
            let idle = served.treeRSSMB()

            let warm = await served.sequential(count: options.warmup, expectedStdout: "hello, world\n") { i in
                BenchServer.executeBody(language: "python", code: "print('hello, world')  # warm-up \(i) \(tag)", useCache: false)
            }
            if let problem = warm.problems.first {
                throw ServerProcess.StartFailure(description: "warm-up requests failed (\(warm.failures) of \(options.warmup)): \(problem)\nserver output:\n\(served.server.logTail())")
            }

            // Cache hits, one client: the first request fills the cache (not measured).
            let cachedCode = "print('hello, world')  # cached \(tag)"
            let prime = await served.sequential(count: 1, expectedStdout: "hello, world\n") { _ in
                BenchServer.executeBody(language: "python", code: cachedCode, useCache: true)
            }
            if let problem = prime.problems.first { failureMessages.append("cache warm-up request failed: \(problem)") }
            printError("http-throughput: \(options.iterations) sequential cache hits, one client…\n")
            let hits = await served.sequential(count: options.iterations, expectedStdout: "hello, world\n", expectCached: true) { _ in
                BenchServer.executeBody(language: "python", code: cachedCode, useCache: true)
            }
            if let s = hits.summary { results.append(BenchResult(workload: "python hello", mode: "cache hit, 1 client", summary: s, failures: hits.failures)) }
            if hits.failures > 0 { failureMessages.append("cache hits: \(hits.failures) request(s) failed or were not cached; first: \(hits.problems.first ?? "-")") }

            printError("http-throughput: \(concurrency) clients for \(formatSeconds(seconds)), Python hello, use_cache false…\n")
            let load = await LoadGenerator(port: served.port, requests: Int.max, concurrency: concurrency, deadlineSeconds: seconds) { i in
                BenchServer.executeBody(language: "python", code: "print('hello, world')  # load \(i) \(tag)", useCache: false)
            }.run()
            let rejected = load.httpStatus[429] ?? 0
            let failures = load.responses + load.transportErrors.values.reduce(0, +) - load.okCount
            let requestsPerSecond = load.wallSeconds > 0 ? Double(load.okCount) / load.wallSeconds : 0
            if let s = load.summary {
                results.append(BenchResult(workload: "python hello", mode: "no cache, c=\(concurrency)", summary: s, failures: failures))
            }
            if failures > 0 {
                failureMessages.append("load: \(failures) request(s) failed (\(rejected) of them HTTP 429); first: \(load.problems.first ?? "-")")
            }

            try await Task.sleep(for: .seconds(1))
            let afterLoad = served.treeRSSMB()

            printError("http-throughput: bare /usr/bin/python3 -c pass, \(concurrency) runners for \(formatSeconds(seconds))…\n")
            let bare = await BareRunners(argv: ["/usr/bin/python3", "-c", "pass"], concurrency: concurrency, seconds: seconds).run()
            if let s = bare.summary {
                results.append(BenchResult(workload: "python3 -c pass", mode: "bare, \(concurrency) runners", summary: s, failures: bare.failures))
            }
            let ratio = bare.runsPerSecond > 0 ? requestsPerSecond / bare.runsPerSecond : nil
            let idleTree = idle.map { $0.serverMB + $0.descendantsMB }
            let targets = [
                BenchTarget(measure: "throughput", value: requestsPerSecond, unit: "req/s", comparison: "≥", limit: throughputTarget),
                BenchTarget(measure: "throughput / bare python3 runs/s", value: ratio, unit: "x", comparison: "≥", limit: ratioTarget),
                BenchTarget(measure: "cache hit p50, 1 client", value: hits.summary?.p50, unit: "ms", comparison: "<", limit: cacheHitP50TargetMs),
                // The memory the tree holds: PSS (a sum of RSS counts the pages forks share once per fork).
                BenchTarget(measure: "idle memory (PSS), server + descendants", value: idle?.treePSSMB, unit: "MB", comparison: "<",
                            limit: idleTreeRSSTargetMB),
            ]
            details = Details(
                corralBinary: binary, serverArguments: served.arguments, concurrency: concurrency, seconds: seconds,
                requests: load.sent, ok: load.okCount, failures: failures,
                httpStatus: Dictionary(uniqueKeysWithValues: load.httpStatus.map { ("\($0.key)", $0.value) }),
                transportErrors: load.transportErrors, requestsPerSecond: rounded(requestsPerSecond, places: 1),
                bareRunsPerSecond: rounded(bare.runsPerSecond, places: 1), bareFailures: bare.failures,
                ratio: ratio.map { rounded($0, places: 3) },
                idleServerRSSMB: idle.map { rounded($0.serverMB, places: 1) }, idleDescendantsRSSMB: idle.map { rounded($0.descendantsMB, places: 1) },
                idleDescendants: idle?.descendants, idleTreeRSSMB: idleTree.map { rounded($0, places: 1) },
                idleTreePSSMB: idle?.treePSSMB.map { rounded($0, places: 1) },
                treeRSSAfterLoadMB: afterLoad.map { rounded($0.serverMB + $0.descendantsMB, places: 1) }, targets: targets)
        } catch {
            await served.stop(keep: true)
            throw error
        }
        await served.stop(keep: keep || !failureMessages.isEmpty)

        let figures = BenchTable(
            title: "throughput (\(concurrency) clients, \(formatSeconds(seconds)))",
            header: ["measure", "value"],
            rows: [
                ["requests sent", "\(details.requests)"],
                ["ok (HTTP 200, success, right stdout)", "\(details.ok)"],
                ["failed (429 included)", "\(details.failures)"],
                ["corral serve req/s", String(format: "%.1f", details.requestsPerSecond)],
                ["bare python3 -c pass runs/s", String(format: "%.1f", details.bareRunsPerSecond)],
                ["idle RSS: serve process", details.idleServerRSSMB.map { String(format: "%.1f MB", $0) } ?? "—"],
                ["idle RSS: \(details.idleDescendants ?? 0) descendant processes", details.idleDescendantsRSSMB.map { String(format: "%.1f MB", $0) } ?? "—"],
                ["idle PSS: serve process and descendants", details.idleTreePSSMB.map { String(format: "%.1f MB", $0) } ?? "—"],
                ["RSS of the tree 1 s after the load", details.treeRSSAfterLoadMB.map { String(format: "%.1f MB", $0) } ?? "—"],
            ])
        var notes = [
            "Server: \(binary) serve \(served.arguments.joined(separator: " ")) (its defaults otherwise).",
            "Load: \(concurrency) threads, each one keep-alive HTTP/1.1 connection, sending requests back to back for \(formatSeconds(seconds)); distinct code each request, use_cache false. req/s = ok responses / wall time.",
            "Bare: \(concurrency) threads each running posix_spawn + waitpid of /usr/bin/python3 -c pass back to back for \(formatSeconds(seconds)), after the load; runs/s = exits 0 / wall time.",
            "Cache hit: one client, \(options.iterations) sequential requests of one program with use_cache true after one request that filled the cache; every response must say cached true.",
            "Idle RSS: VmRSS of the serve process plus the RSS of every process below it (/proc/PID/stat), after \(formatSeconds(idleSeconds)) idle, before any request. "
                + "Idle PSS: the Pss of the same processes (/proc/PID/smaps_rollup), each shared page split among the processes that map it: "
                + "what the tree holds (a sum of RSS counts the pages a zygote's forks share once per fork); the memory target is checked on it.",
        ]
        if options.allowFewIterations { notes.append("QUICK RUN: short load and few cache hits; figures are rough.") }
        return BenchReport(section: section.name, machine: MachineInfo.current(), iterations: options.iterations, warmup: options.warmup,
                           results: results, notes: notes, tables: [figures, BenchTarget.table(details.targets)],
                           details: details, failureMessages: failureMessages)
    }

    static func formatSeconds(_ s: Double) -> String { LoadBench.formatSeconds(s) }
}

/// `concurrency` threads running one command back to back for `seconds`: the host's own rate.
struct BareRunners {
    let argv: [String]
    let concurrency: Int
    let seconds: Double

    struct Outcome: Sendable {
        var latencies: [Double] = []
        var failures = 0
        var wallSeconds = 0.0
        var runsPerSecond: Double { wallSeconds > 0 ? Double(latencies.count) / wallSeconds : 0 }
        var summary: LatencySummary? { latencies.isEmpty ? nil : LatencySummary(milliseconds: latencies) }
    }

    /// What the runner threads report, behind a lock.
    private final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var value = Outcome()
        func add(_ latencies: [Double], _ failures: Int) {
            lock.withLock { value.latencies += latencies; value.failures += failures }
        }
        var outcome: Outcome { lock.withLock { value } }
    }

    func run() async -> Outcome {
        let argv = self.argv, concurrency = self.concurrency, seconds = self.seconds
        return await onThread {
            let environment = ["PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8"]
            let collected = Collected()
            let group = DispatchGroup()
            let start = SpawnTimer.monotonicNanoseconds()
            let deadline = start + UInt64(seconds * 1e9)
            for _ in 0..<concurrency {
                group.enter()
                let thread = Thread {
                    var mine: [Double] = []
                    var failed = 0
                    while SpawnTimer.monotonicNanoseconds() < deadline {
                        let (ms, ok) = SpawnTimer.run(argv, environment: environment)
                        if ok { mine.append(ms) } else { failed += 1 }
                    }
                    collected.add(mine, failed)
                    group.leave()
                }
                thread.stackSize = 1 << 20
                thread.start()
            }
            group.wait()
            var outcome = collected.outcome
            outcome.wallSeconds = Double(SpawnTimer.monotonicNanoseconds() - start) / 1e9
            return outcome
        }
    }
}
