import CorralClient
import Foundation
import Glibc
import Synchronization

/// `corral-bench tasks`: a 3-step task (shell writes a file, Python reads it, read_file returns it)
/// from `POST /v1/tasks` to the end of its event stream (`task_finished`), one at a time and at
/// concurrency 16, next to the same three steps as one bare bash command and under bubblewrap.
enum TasksBench {
    static let latencyP50TargetMs = 100.0
    static let throughputTarget = 20.0

    static let section = BenchSection(
        name: "tasks",
        summary: "corral serve tasks: schedule→completed of a 3-step task (p50), tasks/s at concurrency 16, vs bare and bubblewrap",
        optionsHelp: [
            "--concurrency N     clients of the throughput run (default 16)",
            "--corral PATH       the corral binary (default: next to corral-bench)",
            "--keep 0|1          keep the server's data directory and log (default 0)",
        ],
        iterationsMeaning: "tasks timed one at a time (the throughput run submits 4× as many)",
        defaultIterations: 100, minimumIterations: 20, quickIterations: 20, defaultWarmup: 3,
        run: { options in try await run(options) })

    /// The task, and the same work as one bare command.
    static let taskBody = #"{"steps": [{"tool": "shell", "command": "echo one > a.txt"}, {"tool": "python", "code": "print(open('a.txt').read().strip() + ' two')"}, {"tool": "read_file", "path": "a.txt"}]}"#
    static let bareScript = "cd \"$(mktemp -d)\" && echo one > a.txt && python3 -c \"print(open('a.txt').read().strip() + ' two')\" && cat a.txt >/dev/null && rm -r \"$PWD\""

    struct Failed: Error, CustomStringConvertible { var description: String }

    struct Details: Sendable, Encodable {
        var corralBinary: String
        var serverArguments: [String]
        var concurrency: Int
        var targets: [BenchTarget]
        enum CodingKeys: String, CodingKey {
            case concurrency, targets
            case corralBinary = "corral_binary", serverArguments = "server_arguments"
        }
    }

    static func run(_ options: BenchOptions) async throws -> BenchReport {
        try options.checkSectionOptions(known: ["concurrency", "corral", "keep"])
        let concurrency = max(1, Int(options.sectionOptions["concurrency"] ?? "") ?? 16)
        let keep = try options.flag("keep", default: false)
        let binary = options.sectionOptions["corral"] ?? LoadBench.corralNextToBench()
        let n = options.iterations
        let served = try await BenchServer.start(binary: binary, section: section.name, extraArguments: ["--max-running-tasks", "\(concurrency)"])
        var results: [BenchResult] = []
        var figures: [String: Double] = [:]
        var failures: [String] = []
        do {
            let port = served.port, warmup = options.warmup
            printError("tasks: \(n) tasks one at a time…\n")
            let latency = try await Task.detached { try sequential(port: port, count: n, warmup: warmup) }.value
            let total = n * 4
            printError("tasks: \(total) tasks from \(concurrency) clients…\n")
            let (perSecond, failed) = try await Task.detached { try concurrent(port: port, count: total, clients: concurrency) }.value
            failures += failed
            printError("tasks: bare and bubblewrap baselines…\n")
            let bareArgv = ["/bin/bash", "-c", bareScript]
            let bwrapArgv = ["/usr/bin/bwrap", "--ro-bind", "/", "/", "--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev",
                             "--unshare-all", "--die-with-parent", "--new-session"] + bareArgv
            let bare = bareSummary(bareArgv, count: max(30, n), warmup: 3).summary
            let bwrap = FileManager.default.isExecutableFile(atPath: "/usr/bin/bwrap") ? bareSummary(bwrapArgv, count: max(30, n), warmup: 3).summary : nil
            let bareRate = parallelRate(bareArgv, count: total, clients: concurrency)
            results.append(BenchResult(workload: "3-step task", mode: "POST /v1/tasks → task_finished", summary: latency, baselineP50: bare?.p50, failures: 0))
            if let bare { results.append(BenchResult(workload: "3-step task", mode: "bare bash (same 3 steps)", summary: bare, baselineP50: nil, failures: 0)) }
            if let bwrap { results.append(BenchResult(workload: "3-step task", mode: "bubblewrap bash (same 3 steps)", summary: bwrap, baselineP50: bare?.p50, failures: 0)) }
            figures["latency"] = latency.p50
            figures["rate"] = perSecond
            figures["bare_rate"] = bareRate
        } catch {
            await served.stop(keep: true)
            throw error
        }
        await served.stop(keep: keep || !failures.isEmpty)
        let targets = [
            BenchTarget(measure: "3-step task schedule→completed p50", value: figures["latency"], unit: "ms", comparison: "<", limit: latencyP50TargetMs),
            BenchTarget(measure: "tasks/s at concurrency \(concurrency)", value: figures["rate"], unit: "tasks/s", comparison: ">", limit: throughputTarget),
        ]
        let notes = [
            "Server: \(binary) serve \(served.arguments.joined(separator: " ")).",
            "Latency: POST /v1/tasks, then GET .../events on the same keep-alive connection, read to its end (the stream ends with task_finished); the task's status is then checked (completed).",
            "Throughput: \(concurrency) clients (threads, one connection each) submit and follow tasks until \(figures.isEmpty ? 0 : n * 4) have finished; tasks/s = tasks / wall time.",
            "Bare: one bash command doing the same three steps in a fresh temporary directory (posix_spawn, waited); \(String(format: "%.1f", figures["bare_rate"] ?? 0)) runs/s with \(concurrency) at once. Bubblewrap: the same command under bwrap --unshare-all.",
        ]
        return BenchReport(section: section.name, machine: MachineInfo.current(), iterations: n, warmup: options.warmup,
                           results: results, notes: notes, tables: [BenchTarget.table(targets)],
                           details: Details(corralBinary: binary, serverArguments: served.arguments, concurrency: concurrency, targets: targets),
                           failureMessages: failures)
    }

    /// Submits a task and reads its event stream to the end; returns whether it completed.
    static func runTask(_ c: HTTPConnection) throws -> Bool {
        let posted = try c.request("POST", "/v1/tasks", body: Array(taskBody.utf8))
        guard posted.status == 202, let id = ((try? JSONSerialization.jsonObject(with: Data(posted.body))) as? [String: Any])?["task_id"] as? String else {
            throw Failed(description: "POST /v1/tasks answered \(posted.status): \(posted.text)")
        }
        let events = try c.request("GET", "/v1/tasks/\(id)/events")
        return events.status == 200 && events.text.contains("event: task_finished") && events.text.contains(#""status":"completed""#)
    }

    static func sequential(port: Int, count: Int, warmup: Int) throws -> LatencySummary {
        let c = HTTPConnection(port: port, timeout: 120)
        var samples: [Double] = []
        for i in 0..<(count + warmup) {
            let start = SpawnTimer.monotonicNanoseconds()
            guard try runTask(c) else { throw Failed(description: "a task did not complete") }
            if i >= warmup { samples.append(Double(SpawnTimer.monotonicNanoseconds() - start) / 1e6) }
        }
        return LatencySummary(milliseconds: samples)
    }

    static func concurrent(port: Int, count: Int, clients: Int) throws -> (Double, [String]) {
        let next = Mutex(0)
        let failures = Mutex<[String]>([])
        let start = SpawnTimer.monotonicNanoseconds()
        onThreads(clients) { _ in
            let c = HTTPConnection(port: port, timeout: 300)
            while next.withLock({ n in defer { n += 1 }; return n }) < count {
                do { if try !runTask(c) { failures.withLock { $0.append("a task did not complete") } } } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        let seconds = Double(SpawnTimer.monotonicNanoseconds() - start) / 1e9
        return (Double(count) / seconds, failures.withLock { $0 })
    }

    /// Runs of `argv` per second with `clients` at once.
    static func parallelRate(_ argv: [String], count: Int, clients: Int) -> Double {
        let environment = ["PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8"]
        let start = SpawnTimer.monotonicNanoseconds()
        onThreads(clients) { client in
            for _ in stride(from: client, to: count, by: clients) { _ = SpawnTimer.run(argv, environment: environment) }
        }
        return Double(count) / (Double(SpawnTimer.monotonicNanoseconds() - start) / 1e9)
    }

    /// Runs `body(i)` for i in 0..<n, each on a thread of its own (blocking I/O: not the dispatch
    /// pool, which runs as many at once as there are cores), and waits for all of them.
    static func onThreads(_ n: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let finished = Mutex(0)
        for i in 0..<n {
            Thread {
                body(i)
                finished.withLock { $0 += 1 }
            }.start()
        }
        while finished.withLock({ $0 }) < n { usleep(2_000) }
    }
}
