import CorralClient
import Foundation
import Glibc

/// `corral-bench load`: the real `corral serve` binary under load, through real HTTP.
///
/// 1. Starts `corral serve` (the one built next to corral-bench) on a free loopback port
///    with a temporary `--data-dir`, and reads its idle RSS after a few idle seconds.
/// 2. N Python hello-world `POST /v1/execute` requests at concurrency C, each with unique
///    code and `use_cache: false`; then the same N with one program and `use_cache: true`
///    (cache hits, after one warm-up request).
/// 3. Kill durability: the same load again; SIGKILL after ~300 responses; restart on the
///    same data directory; every `execution_id` received in a 200 response must be in
///    `GET /v1/executions`.
///
/// The load generator runs one blocking keep-alive HTTP/1.1 connection per worker on its
/// own thread, never on the Swift concurrency pool.
enum LoadBench {
    static let idleRSSTargetMB = 50.0
    static let durabilityRunName = "durability (SIGKILL mid-load)"

    static let section = BenchSection(
        name: "load",
        summary: "corral serve over HTTP: idle RSS, Python hello world at concurrency 32 (no cache, cache hits), SIGKILL durability",
        optionsHelp: [
            "--concurrency N      connections (one thread each) sending requests (default 32)",
            "--kill-after N       SIGKILL the server after N responses of the durability run (default 300; 0 skips that run)",
            "--idle-seconds S     how long the server idles before its RSS is read (default 5)",
            "--workers N          pass --workers N to corral serve (default: its own, one per core)",
            "--queue N            pass --queue N to corral serve (default: its own)",
            "--corral PATH        the corral binary (default: next to corral-bench)",
            "--timeout S          longest any load run may take, in seconds (default 900)",
            "--keep 0|1           keep the server's data directory and logs (default 0; kept anyway when rows are lost)",
        ],
        iterationsMeaning: "requests per load run",
        defaultIterations: 1000, minimumIterations: 1000, quickIterations: 200, defaultWarmup: 10,
        run: { options in try await run(options) })

    // MARK: - Report figures

    struct RunFigures: Encodable, Sendable {
        var name: String
        var requests: Int
        var concurrency: Int
        var sent: Int
        var responses: Int
        var httpStatus: [String: Int]
        var resultStatus: [String: Int]
        var transportErrors: [String: Int]
        var tooManyRequests: Int
        var failures: Int
        var cachedResponses: Int
        var p50Ms: Double?
        var p95Ms: Double?
        var p99Ms: Double?
        var meanMs: Double?
        var maxMs: Double?
        var wallSeconds: Double
        var throughput: Double

        enum CodingKeys: String, CodingKey {
            case name, requests, concurrency, sent, responses, failures, throughput
            case httpStatus = "http_status", resultStatus = "result_status", transportErrors = "transport_errors"
            case tooManyRequests = "rejected_429", cachedResponses = "cached_responses"
            case p50Ms = "p50_ms", p95Ms = "p95_ms", p99Ms = "p99_ms", meanMs = "mean_ms", maxMs = "max_ms"
            case wallSeconds = "wall_seconds"
        }
    }

    struct Durability: Encodable, Sendable {
        var killAfterResponses: Int
        var responsesBeforeKill: Int
        var inFlightAtKill: Int
        var acknowledged: Int
        var acknowledgedEarlierRuns: Int
        var rowsAfterRestart: Int
        var missing: Int
        var missingEarlierRuns: Int
        var missingIDs: [String]
        var killedServer: String
        var restartSeconds: Double

        enum CodingKeys: String, CodingKey {
            case acknowledged, missing
            case killAfterResponses = "kill_after_responses", responsesBeforeKill = "responses_before_kill"
            case inFlightAtKill = "in_flight_at_kill", acknowledgedEarlierRuns = "acknowledged_earlier_runs"
            case rowsAfterRestart = "rows_after_restart", missingEarlierRuns = "missing_earlier_runs"
            case missingIDs = "missing_ids", killedServer = "killed_server", restartSeconds = "restart_seconds"
        }
    }

    struct Details: Encodable, Sendable {
        var corralBinary: String
        var serverArguments: [String]
        var idleSeconds: Double
        var idleRSSMB: Double
        var idlePeakRSSMB: Double
        var idleDescendantsRSSMB: Double
        var idleDescendants: Int
        var idleRSSTargetMB: Double
        var idleRSSTargetMet: Bool
        var rssAfterLoadMB: Double?
        var runs: [RunFigures]
        var durability: Durability?
        var shutdownSeconds: Double?
        var shutdownNeededSIGKILL: Bool?
        var shutdownStatus: String?

        enum CodingKeys: String, CodingKey {
            case runs, durability
            case corralBinary = "corral_binary", serverArguments = "server_arguments", idleSeconds = "idle_seconds"
            case idleRSSMB = "idle_rss_mb", idlePeakRSSMB = "idle_peak_rss_mb"
            case idleDescendantsRSSMB = "idle_descendants_rss_mb", idleDescendants = "idle_descendant_processes"
            case idleRSSTargetMB = "idle_rss_target_mb", idleRSSTargetMet = "idle_rss_target_met"
            case rssAfterLoadMB = "rss_after_load_mb"
            case shutdownSeconds = "shutdown_seconds", shutdownNeededSIGKILL = "shutdown_needed_sigkill", shutdownStatus = "shutdown_status"
        }
    }

    // MARK: - Section

    /// Servers started by this run: all stopped at its end, whatever happens.
    final class Servers: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [ServerProcess] = []
        func add(_ s: ServerProcess) { lock.withLock { list.append(s) } }
        func stopAll() async {
            for s in lock.withLock({ list }) where s.isRunning { await s.stop(graceSeconds: 15) }
        }
    }

    static func run(_ options: BenchOptions) async throws -> BenchReport {
        try options.checkSectionOptions(known: ["concurrency", "kill-after", "idle-seconds", "workers", "queue", "corral", "timeout", "keep"])
        func number(_ name: String, _ fallback: Double, minimum: Double) throws(BenchUsageError) -> Double {
            guard let text = options.sectionOptions[name] else { return fallback }
            guard let v = Double(text), v >= minimum else { throw BenchUsageError(message: "--\(name) needs a number ≥ \(minimum), not '\(text)'") }
            return v
        }
        let concurrency = Int(try number("concurrency", 32, minimum: 1))
        let killAfter = Int(try number("kill-after", 300, minimum: 0))
        let idleSeconds = try number("idle-seconds", 5, minimum: 0)
        let timeout = try number("timeout", 900, minimum: 10)
        let keep = try options.flag("keep", default: false)
        let binary = options.sectionOptions["corral"] ?? corralNextToBench()
        guard access(binary, X_OK) == 0 else {
            throw BenchUsageError(message: "no corral binary at \(binary): build it with `swift build -c release --product corral` (scripts/bench does), or give --corral PATH")
        }
        let machine = MachineInfo.current()

        var template = Array("/tmp/corral-bench-load-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else {
            throw BenchUsageError(message: "cannot create a temporary directory: \(String(cString: strerror(errno)))")
        }
        let scratch = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        let dataDirectory = scratch + "/data"
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        var serverArguments = ["--host", "127.0.0.1", "--data-dir", dataDirectory, "--grace", "10"]
        if let w = options.sectionOptions["workers"] { serverArguments += ["--workers", w] }
        if let q = options.sectionOptions["queue"] { serverArguments += ["--queue", q] }

        let servers = Servers()
        var keepScratch = keep
        do {
            let report = try await measure(options: options, machine: machine, binary: binary, serverArguments: serverArguments,
                                           scratch: scratch, servers: servers, concurrency: concurrency, killAfter: killAfter,
                                           idleSeconds: idleSeconds, timeout: timeout)
            await servers.stopAll()
            if !report.failureMessages.isEmpty { keepScratch = true }
            if keepScratch {
                printError("load: kept the data directory and server logs in \(scratch)\n")
            } else {
                try? FileManager.default.removeItem(atPath: scratch)
            }
            return report
        } catch {
            await servers.stopAll()
            printError("load: server logs and data kept in \(scratch)\n")
            throw error
        }
    }

    static func measure(options: BenchOptions, machine: MachineInfo, binary: String, serverArguments: [String], scratch: String,
                        servers: Servers, concurrency: Int, killAfter: Int, idleSeconds: Double, timeout: Double) async throws -> BenchReport {
        let requests = options.iterations
        var failureMessages: [String] = []
        var notes: [String] = []
        var killAfter = killAfter
        if killAfter >= requests {
            // A short run (--quick): kill at 30 % of it instead.
            killAfter = max(1, requests * 3 / 10)
            notes.append("--kill-after is not below the \(requests) requests of a run: the SIGKILL comes after \(killAfter) responses instead.")
        }
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)

        // 1. Start, idle, RSS.
        printError("load: starting \(binary) serve \(serverArguments.joined(separator: " ")) --port 0…\n")
        let server = try await ServerProcess.start(binary: binary, arguments: serverArguments, logPath: scratch + "/serve-1.log", timeout: 60)
        servers.add(server)
        printError("load: listening on 127.0.0.1:\(server.port) (pid \(server.pid)); idling \(idleSeconds) s for its RSS…\n")
        try await Task.sleep(for: .milliseconds(Int(idleSeconds * 1000)))
        guard let idle = server.memory() else { throw ServerProcess.StartFailure(description: "cannot read /proc/\(server.pid)/status: \(server.statusDescription)\n\(server.logTail())") }
        let children = server.descendantsRSS()
        let idleMB = Double(idle.rssKB) / 1024
        let rssMet = idleMB < idleRSSTargetMB
        var details = Details(
            corralBinary: binary, serverArguments: serverArguments + ["--port", "0"], idleSeconds: idleSeconds,
            idleRSSMB: rounded(idleMB, places: 1), idlePeakRSSMB: rounded(Double(idle.peakKB) / 1024, places: 1),
            idleDescendantsRSSMB: rounded(Double(children.kb) / 1024, places: 1), idleDescendants: children.processes,
            idleRSSTargetMB: idleRSSTargetMB, idleRSSTargetMet: rssMet, runs: [])
        var results: [BenchResult] = []

        // Warm-up: a few sequential requests (not measured).
        let port = server.port
        let warmupOutcome = await onThread {
            let connection = HTTPConnection(port: port, timeout: 120)
            var problems: [String] = []
            for i in 0..<options.warmup {
                let body = executeBody(code: "# warm-up \(i) \(tag)\nprint('hello, world')", useCache: false)
                do throws(HTTPConnection.Failure) {
                    let r = try connection.request("POST", "/v1/execute", body: body)
                    if r.status != 200 { problems.append("HTTP \(r.status): \(r.text.prefix(300))") }
                } catch { problems.append("\(error)") }
            }
            return problems
        }
        if !warmupOutcome.isEmpty {
            throw ServerProcess.StartFailure(description: "warm-up requests failed (\(warmupOutcome.count) of \(options.warmup)): \(warmupOutcome[0])\nserver output:\n\(server.logTail())")
        }

        // 2a. No cache: unique code per request.
        printError("load: \(requests) requests, concurrency \(concurrency), use_cache false…\n")
        let noCache = await LoadGenerator(port: port, requests: requests, concurrency: concurrency, deadlineSeconds: timeout) { i in
            executeBody(code: "# load request \(i) \(tag)\nprint('hello, world')", useCache: false)
        }.run()
        var (figures, problems) = noCache.figures(name: "no cache (unique code, use_cache false)", expectCached: false)
        details.runs.append(figures)
        failureMessages += problems
        if let s = noCache.summary {
            results.append(BenchResult(workload: "python hello, c=\(concurrency)", mode: "no cache", summary: s, failures: figures.failures))
        }

        // 2b. Cache hits: one program, after one warm-up request that fills the cache.
        let cachedCode = "print('hello, world')  # cached \(tag)"
        let primed = await onThread {
            let connection = HTTPConnection(port: port, timeout: 120)
            do throws(HTTPConnection.Failure) {
                let r = try connection.request("POST", "/v1/execute", body: executeBody(code: cachedCode, useCache: true))
                return r.status == 200 ? nil : "HTTP \(r.status): \(r.text.prefix(300))"
            } catch { return "\(error)" }
        }
        if let primed { failureMessages.append("cache warm-up request failed: \(primed)") }
        printError("load: \(requests) requests, concurrency \(concurrency), use_cache true (one program)…\n")
        let cached = await LoadGenerator(port: port, requests: requests, concurrency: concurrency, deadlineSeconds: timeout) { _ in
            executeBody(code: cachedCode, useCache: true)
        }.run()
        (figures, problems) = cached.figures(name: "cache hits (one program, use_cache true)", expectCached: true)
        details.runs.append(figures)
        failureMessages += problems
        if let s = cached.summary {
            results.append(BenchResult(workload: "python hello, c=\(concurrency)", mode: "cache hits", summary: s,
                                       baselineP50: noCache.summary?.p50, failures: figures.failures))
        }
        details.rssAfterLoadMB = server.memory().map { rounded(Double($0.rssKB) / 1024, places: 1) }

        // 3. Kill durability.
        var finalServer = server
        if killAfter > 0 {
            printError("load: durability: \(requests) requests, SIGKILL after \(killAfter) responses…\n")
            let killing = LoadGenerator(port: port, requests: requests, concurrency: concurrency, deadlineSeconds: timeout) { i in
                executeBody(code: "# durability request \(i) \(tag)\nprint('hello, world')", useCache: false)
            }
            killing.killAfter = (killAfter, server.pid)
            let outcome = await killing.run()
            let ended = await server.waitForExit(seconds: 30)
            if !ended { server.signal(SIGKILL); _ = await server.waitForExit(seconds: 10) }
            (figures, _) = outcome.figures(name: durabilityRunName, expectCached: false)
            details.runs.append(figures)
            let acknowledged = Set(outcome.ids)
            let earlier = Set(noCache.ids + cached.ids)
            if outcome.killedAt == nil {
                failureMessages.append("durability: the server was never killed (only \(outcome.okCount) responses; needed \(killAfter))")
            }
            printError("load: server \(server.statusDescription) with \(acknowledged.count) acknowledged ids; restarting on the same data directory…\n")
            let restartStart = SpawnTimer.monotonicNanoseconds()
            let restarted = try await ServerProcess.start(binary: binary, arguments: serverArguments, logPath: scratch + "/serve-2.log", timeout: 60)
            servers.add(restarted)
            finalServer = restarted
            let restartSeconds = Double(SpawnTimer.monotonicNanoseconds() - restartStart) / 1e9
            let stored = try await executionIDs(port: restarted.port)
            let missing = acknowledged.subtracting(stored).sorted()
            let missingEarlier = earlier.subtracting(stored).sorted()
            details.durability = Durability(
                killAfterResponses: killAfter, responsesBeforeKill: outcome.killedAt?.responses ?? outcome.okCount,
                inFlightAtKill: outcome.killedAt?.inFlight ?? 0, acknowledged: acknowledged.count,
                acknowledgedEarlierRuns: earlier.count, rowsAfterRestart: stored.count, missing: missing.count,
                missingEarlierRuns: missingEarlier.count, missingIDs: Array((missing + missingEarlier).prefix(50)),
                killedServer: server.statusDescription, restartSeconds: rounded(restartSeconds, places: 3))
            if !missing.isEmpty {
                failureMessages.append("durability: \(missing.count) of \(acknowledged.count) execution ids acknowledged with HTTP 200 before/around the SIGKILL are MISSING from GET /v1/executions after restart: \(missing.prefix(10).joined(separator: ", "))")
            }
            if !missingEarlier.isEmpty {
                failureMessages.append("durability: \(missingEarlier.count) of \(earlier.count) execution ids of the earlier runs are MISSING after the SIGKILL and restart: \(missingEarlier.prefix(10).joined(separator: ", "))")
            }
        }

        // Stop: SIGTERM, wait.
        let stop = await finalServer.stop(graceSeconds: 20)
        details.shutdownSeconds = rounded(stop.seconds, places: 3)
        details.shutdownNeededSIGKILL = stop.killed
        details.shutdownStatus = finalServer.statusDescription
        if stop.killed { failureMessages.append("corral serve did not end within 20 s of SIGTERM (killed); log: \(finalServer.logPath)") }

        // Tables.
        let runTable = BenchTable(
            title: "load — \(requests) POST /v1/execute (python hello world) per run, \(concurrency) keep-alive connections",
            header: ["run", "ok", "429", "failed", "cached", "p50 ms", "p95 ms", "p99 ms", "max ms", "req/s", "wall s"],
            rows: details.runs.map { r in
                [r.name, "\(r.httpStatus["200"] ?? 0)", "\(r.tooManyRequests)",
                 r.name == durabilityRunName ? "\(r.failures) (killed)" : "\(r.failures)", "\(r.cachedResponses)",
                 r.p50Ms.map { String(format: "%.1f", $0) } ?? "—", r.p95Ms.map { String(format: "%.1f", $0) } ?? "—",
                 r.p99Ms.map { String(format: "%.1f", $0) } ?? "—", r.maxMs.map { String(format: "%.1f", $0) } ?? "—",
                 String(format: "%.1f", r.throughput), String(format: "%.2f", r.wallSeconds)]
            })
        var serverRows: [[String]] = [
            ["idle RSS (VmRSS after \(formatSeconds(idleSeconds)) idle)", String(format: "%.1f MB", idleMB), String(format: "< %.0f MB", idleRSSTargetMB), rssMet ? "met" : "NOT MET"],
            ["idle peak RSS (VmHWM)", String(format: "%.1f MB", details.idlePeakRSSMB), "", ""],
            ["jail stubs (\(children.processes) descendant processes)", String(format: "%.1f MB", details.idleDescendantsRSSMB), "", ""],
        ]
        if let after = details.rssAfterLoadMB { serverRows.append(["RSS after the two load runs", String(format: "%.1f MB", after), "", ""]) }
        if let d = details.durability {
            serverRows.append(["SIGKILL after responses (in flight)", "\(d.responsesBeforeKill) (\(d.inFlightAtKill))", "", ""])
            serverRows.append(["acknowledged ids missing after restart", "\(d.missing) of \(d.acknowledged)", "0", d.missing == 0 ? "met" : "FAILED"])
            serverRows.append(["earlier runs' ids missing after restart", "\(d.missingEarlierRuns) of \(d.acknowledgedEarlierRuns)", "0", d.missingEarlierRuns == 0 ? "met" : "FAILED"])
            serverRows.append(["history rows after restart", "\(d.rowsAfterRestart)", "", ""])
            serverRows.append(["restart until ready", String(format: "%.2f s", d.restartSeconds), "", ""])
        }
        serverRows.append(["shutdown after SIGTERM", String(format: "%.2f s", stop.seconds), "", finalServer.statusDescription])
        let serverTable = BenchTable(title: "server", header: ["measure", "value", "target", ""], rows: serverRows)

        notes += [
            "Server: \(binary) serve \(serverArguments.joined(separator: " ")) --port 0 (stdout/stderr to a log; port read from its \"listening\" line; ready when GET /readyz is 200).",
            "Load: \(concurrency) threads, each one keep-alive HTTP/1.1 connection, taking request numbers from a shared counter until \(requests) are sent; latency = send to last byte of the response.",
            "Bodies: {\"language\":\"python\",\"code\":\"# load request I \(tag)\\nprint('hello, world')\",\"use_cache\":false}; cache run: one program, use_cache true, after one warm-up request; \(options.warmup) sequential warm-up requests before the first run.",
            "ok = HTTP 200 with status success and stdout \"hello, world\\n\"; failed = anything else except HTTP 429 (counted apart: refused by a full queue, deliberate); req/s = responses / wall time of the run.",
            "Idle RSS: VmRSS of the corral serve process in /proc/PID/status; jail stubs = RSS of its descendant processes (the sandbox's pre-forked pool), not included. Target (issue 4): < \(Int(idleRSSTargetMB)) MB — \(rssMet ? "met" : "NOT MET").",
        ]
        if killAfter > 0 {
            notes.append("Durability: the same load with unique code; after \(killAfter) HTTP 200 responses the bench sends SIGKILL; every execution_id of a 200 received (before or after the signal) must be in GET /v1/executions (limit 1000, paged) after a restart on the same --data-dir. Ids of the first two runs are checked too.")
        }
        if requests < section.minimumIterations { notes.append("QUICK RUN: \(requests) requests per run instead of \(section.minimumIterations).") }
        return BenchReport(section: section.name, machine: machine, iterations: requests, warmup: options.warmup,
                           results: results, notes: notes, tables: [runTable, serverTable], details: details,
                           failureMessages: failureMessages)
    }

    static func formatSeconds(_ s: Double) -> String { s == s.rounded() ? "\(Int(s)) s" : String(format: "%.1f s", s) }

    /// The corral binary built next to this one (`swift build -c release` puts both in one directory).
    static func corralNextToBench() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let me = n > 0 ? String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
        return (me as NSString).deletingLastPathComponent + "/corral"
    }

    static func executeBody(code: String, useCache: Bool) -> [UInt8] {
        let object: [String: Any] = ["language": "python", "code": code, "use_cache": useCache]
        return Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }

    /// Every execution id in the history, paging GET /v1/executions with limit 1000.
    static func executionIDs(port: Int) async throws -> Set<String> {
        let outcome: Result<Set<String>, ServerProcess.StartFailure> = await onThread {
            let connection = HTTPConnection(port: port, timeout: 60)
            var ids = Set<String>()
            var offset = 0
            var total = Int.max
            var pages = 0
            while offset < total {
                pages += 1
                if pages > 10_000 { return .failure(.init(description: "GET /v1/executions: more than 10,000 pages")) }
                let response: HTTPConnection.Response
                do throws(HTTPConnection.Failure) {
                    response = try connection.request("GET", "/v1/executions?limit=1000&offset=\(offset)")
                } catch { return .failure(.init(description: "GET /v1/executions?offset=\(offset): \(error)")) }
                guard response.status == 200,
                      let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
                      let executions = object["executions"] as? [[String: Any]] else {
                    return .failure(.init(description: "GET /v1/executions?offset=\(offset): HTTP \(response.status) \(response.text.prefix(300))"))
                }
                if let t = object["total"] as? Int { total = t }
                if executions.isEmpty { break }
                for e in executions { if let id = e["execution_id"] as? String { ids.insert(id) } }
                offset += executions.count
            }
            return .success(ids)
        }
        return try outcome.get()
    }
}

/// N requests over C keep-alive connections, one thread each; what came back.
final class LoadGenerator: @unchecked Sendable {
    let port: Int
    let requests: Int
    let concurrency: Int
    let deadlineSeconds: Double
    let makeBody: @Sendable (Int) -> [UInt8]
    /// SIGKILL `pid` once this many HTTP 200 responses have arrived.
    var killAfter: (responses: Int, pid: pid_t)?

    private let lock = NSLock()
    private var next = 0
    private var stopped = false
    private var deadline: UInt64 = 0
    private var outcome = LoadOutcome()

    init(port: Int, requests: Int, concurrency: Int, deadlineSeconds: Double, makeBody: @escaping @Sendable (Int) -> [UInt8]) {
        self.port = port
        self.requests = requests
        self.concurrency = concurrency
        self.deadlineSeconds = deadlineSeconds
        self.makeBody = makeBody
    }

    func run() async -> LoadOutcome {
        await onThread { [self] in
            deadline = SpawnTimer.monotonicNanoseconds() + UInt64(deadlineSeconds * 1e9)
            let group = DispatchGroup()
            let start = SpawnTimer.monotonicNanoseconds()
            for w in 0..<concurrency {
                group.enter()
                let thread = Thread { [self] in
                    worker()
                    group.leave()
                }
                thread.name = "load-\(w)"
                thread.stackSize = 1 << 20
                thread.start()
            }
            group.wait()
            let wall = Double(SpawnTimer.monotonicNanoseconds() - start) / 1e9
            return lock.withLock {
                outcome.wallSeconds = wall
                outcome.concurrency = concurrency
                outcome.requests = requests
                return outcome
            }
        }
    }

    /// The next request number, or nil when all are taken, the run was stopped or is past its deadline.
    private func take() -> Int? {
        lock.withLock {
            guard !stopped, next < requests, SpawnTimer.monotonicNanoseconds() < deadline else { return nil }
            next += 1
            outcome.sent += 1
            return next - 1
        }
    }

    private func worker() {
        let connection = HTTPConnection(port: port, timeout: 120)
        while let i = take() {
            let body = makeBody(i)
            let start = SpawnTimer.monotonicNanoseconds()
            let response: HTTPConnection.Response
            do throws(HTTPConnection.Failure) {
                response = try connection.request("POST", "/v1/execute", body: body)
            } catch {
                lock.withLock {
                    outcome.transportErrors[error.kind, default: 0] += 1
                    if outcome.problems.count < 5 { outcome.problems.append("request \(i): \(error)") }
                }
                continue
            }
            let ms = Double(SpawnTimer.monotonicNanoseconds() - start) / 1e6
            let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
            let resultStatus = object?["status"] as? String
            let ok = response.status == 200 && resultStatus == "success" && (object?["stdout"] as? String) == "hello, world\n"
            var killPID: pid_t?
            lock.withLock {
                outcome.httpStatus[response.status, default: 0] += 1
                outcome.latencies.append(ms)
                if response.status == 200 {
                    outcome.resultStatus[resultStatus ?? "(none)", default: 0] += 1
                    if let id = object?["execution_id"] as? String { outcome.ids.append(id) }
                    if object?["cached"] as? Bool == true { outcome.cached += 1 }
                    outcome.okLatencies.append(ms)
                }
                if ok { outcome.okCount += 1 }
                if !ok && response.status != 429 && outcome.problems.count < 5 {
                    outcome.problems.append("request \(i): HTTP \(response.status): \(response.text.prefix(300))")
                }
                if let kill = killAfter, outcome.killedAt == nil, outcome.httpStatus[200, default: 0] >= kill.responses {
                    stopped = true
                    outcome.killedAt = (outcome.httpStatus[200, default: 0], outcome.sent - outcome.latencies.count
                                        - outcome.transportErrors.values.reduce(0, +))
                    killPID = kill.pid
                }
            }
            if let killPID { kill(killPID, SIGKILL) }
        }
    }
}

/// What one load run saw.
struct LoadOutcome: Sendable {
    var requests = 0
    var concurrency = 0
    var sent = 0
    var httpStatus: [Int: Int] = [:]
    var resultStatus: [String: Int] = [:]
    var transportErrors: [String: Int] = [:]
    var latencies: [Double] = []
    var okLatencies: [Double] = []
    var okCount = 0
    var cached = 0
    var ids: [String] = []
    var problems: [String] = []
    var wallSeconds = 0.0
    /// HTTP 200 responses when the SIGKILL was sent, and requests in flight then.
    var killedAt: (responses: Int, inFlight: Int)?

    var responses: Int { latencies.count }
    /// Latency of the HTTP 200 responses.
    var summary: LatencySummary? { okLatencies.isEmpty ? nil : LatencySummary(milliseconds: okLatencies) }

    /// The run's figures, and its problems (any failure but a 429; a cache run whose responses were not cached).
    /// A run with a SIGKILL has no problems: its failures after the kill are expected.
    func figures(name: String, expectCached: Bool) -> (LoadBench.RunFigures, [String]) {
        let rejected = httpStatus[429] ?? 0
        let failures = sent - okCount - rejected
        let s = summary
        let figures = LoadBench.RunFigures(
            name: name, requests: requests, concurrency: concurrency, sent: sent, responses: responses,
            httpStatus: Dictionary(uniqueKeysWithValues: httpStatus.map { ("\($0.key)", $0.value) }),
            resultStatus: resultStatus, transportErrors: transportErrors, tooManyRequests: rejected, failures: failures,
            cachedResponses: cached,
            p50Ms: s.map { rounded($0.p50, places: 2) }, p95Ms: s.map { rounded($0.p95, places: 2) },
            p99Ms: s.map { rounded($0.p99, places: 2) }, meanMs: s.map { rounded($0.mean, places: 2) },
            maxMs: s.map { rounded($0.max, places: 2) }, wallSeconds: rounded(wallSeconds, places: 3),
            throughput: rounded(wallSeconds > 0 ? Double(responses) / wallSeconds : 0, places: 1))
        guard killedAt == nil else { return (figures, []) }
        var problems: [String] = []
        if sent < requests { problems.append("\(name): only \(sent) of \(requests) requests sent before the deadline") }
        if failures > 0 {
            problems.append("\(name): \(failures) failed request(s) (HTTP \(httpStatus.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ", ")); transport \(transportErrors)); first: \(self.problems.first ?? "-")")
        }
        if expectCached && cached < okCount {
            problems.append("\(name): only \(cached) of \(okCount) successful responses were cache hits")
        }
        return (figures, problems)
    }
}
