import CorralClient
import CorralNATSClient
import Foundation
import Glibc
import Synchronization

/// `corral-bench fleet`: fleet mode over a real nats-server (Debian's, started here on a free
/// port). The NATS request/reply round trip of seed 000's `list_languages` next to the same over
/// HTTP (`GET /v1/languages`) on the same instance in the same run; then `execute_code`
/// throughput over NATS with one instance and with two (a queue group of two `corral serve`).
enum FleetBench {
    static let roundTripTargetMs = 5.0

    static let section = BenchSection(
        name: "fleet",
        summary: "fleet mode over NATS: list_languages round trip (p50) vs HTTP, execute_code/s with one vs two instances",
        optionsHelp: [
            "--concurrency N     requests in flight in the throughput runs (default 16)",
            "--corral PATH       the corral binary (default: next to corral-bench)",
            "--nats-server PATH  nats-server (default /usr/sbin/nats-server)",
        ],
        iterationsMeaning: "round trips timed per front end (the throughput runs send 2× as many executions)",
        defaultIterations: 500, minimumIterations: 50, quickIterations: 100, defaultWarmup: 20,
        run: { options in try await run(options) })

    struct Failed: Error, CustomStringConvertible { var description: String }

    struct Details: Sendable, Encodable {
        var corralBinary: String
        var concurrency: Int
        var executionsPerSecond: [String: Double]
        var targets: [BenchTarget]
        enum CodingKeys: String, CodingKey {
            case concurrency, targets
            case corralBinary = "corral_binary", executionsPerSecond = "executions_per_second"
        }
    }

    static func run(_ options: BenchOptions) async throws -> BenchReport {
        try options.checkSectionOptions(known: ["concurrency", "corral", "nats-server"])
        let concurrency = max(1, Int(options.sectionOptions["concurrency"] ?? "") ?? 16)
        let binary = options.sectionOptions["corral"] ?? LoadBench.corralNextToBench()
        let natsBinary = options.sectionOptions["nats-server"] ?? "/usr/sbin/nats-server"
        guard access(natsBinary, X_OK) == 0 else {
            throw BenchUsageError(message: "no nats-server at \(natsBinary): run scripts/bootstrap (it installs Debian's nats-server)")
        }
        let n = options.iterations, warmup = options.warmup
        let nats = try NATSServerProcess(binary: natsBinary)
        defer { nats.stop() }
        let url = "nats://127.0.0.1:\(nats.port)"
        // Cache off: every execution of the throughput runs is a run, as distinct programs would be.
        let instanceArguments = ["--nats-url", url, "--instance-id"]
        let first = try await BenchServer.start(binary: binary, section: section.name, extraArguments: instanceArguments + ["bench-1"])
        var second: BenchServer?
        var results: [BenchResult] = []
        var rates: [String: Double] = [:]
        var failures: [String] = []
        do {
            let client = try await NATSConnection.connect(NATSOptions(host: "127.0.0.1", port: nats.port))
            defer { client.close() }
            try await waitForResponders(client, count: 1)
            printError("fleet: \(n) list_languages round trips over NATS and \(n) over HTTP…\n")
            let overNATS = try await natsRoundTrips(client, count: n, warmup: warmup)
            let port = first.port
            let overHTTP = try await Task.detached { try httpRoundTrips(port: port, count: n, warmup: warmup) }.value
            results.append(BenchResult(workload: "list_languages", mode: "NATS request/reply (agent.coding_agent.task)", summary: overNATS, baselineP50: overHTTP.p50))
            results.append(BenchResult(workload: "list_languages", mode: "HTTP GET /v1/languages (keep-alive)", summary: overHTTP, baselineP50: nil))

            let total = n * 2
            printError("fleet: \(total) execute_code over NATS, one instance, \(concurrency) in flight…\n")
            let (one, oneFailed) = try await throughput(client, count: total, concurrency: concurrency, tag: "one-\(first.tag)")
            rates["one instance"] = one
            failures += oneFailed
            second = try await BenchServer.start(binary: binary, section: section.name, extraArguments: instanceArguments + ["bench-2"])
            try await waitForResponders(client, count: 2)
            printError("fleet: \(total) execute_code over NATS, two instances, \(concurrency) in flight…\n")
            let (two, twoFailed) = try await throughput(client, count: total, concurrency: concurrency, tag: "two-\(first.tag)")
            rates["two instances"] = two
            failures += twoFailed
            printError("fleet: bare python3 -c baseline…\n")
            rates["bare python3 -c (same concurrency)"] = TasksBench.parallelRate(["/usr/bin/python3", "-c", "print('x')"], count: total, clients: concurrency)
        } catch {
            await second?.stop(keep: true)
            await first.stop(keep: true)
            throw error
        }
        await second?.stop(keep: !failures.isEmpty)
        await first.stop(keep: !failures.isEmpty)
        let natsP50 = results.first?.summary.p50
        let targets = [
            BenchTarget(measure: "list_languages over NATS p50", value: natsP50, unit: "ms", comparison: "<", limit: roundTripTargetMs),
        ]
        let rateTable = BenchTable(title: "execute_code over NATS, \(concurrency) in flight", header: ["served by", "executions/s"],
                                   rows: rates.sorted(by: { $0.key < $1.key }).map { [$0.key, String(format: "%.1f", $0.value)] })
        let notes = [
            "NATS: \(natsBinary) on 127.0.0.1:\(nats.port); instances: \(binary) serve \(instanceArguments.joined(separator: " ")) bench-N (defaults otherwise), in one queue group.",
            "Round trip: one client, sequential requests; NATS: seed 000's list_languages task through the instance; HTTP: GET /v1/languages on the same instance over one keep-alive connection.",
            "Throughput: \(concurrency) requests in flight from one NATS connection, each a distinct Python program (no cache hit); executions/s = requests / wall time. Both instances run on this one machine (\(ProcessInfo.processInfo.activeProcessorCount) cores), so a second instance adds no cores: the figure shows the queue group spreading work, not a scale-out gain.",
        ]
        return BenchReport(section: section.name, machine: MachineInfo.current(), iterations: n, warmup: options.warmup,
                           results: results, notes: notes, tables: [BenchTarget.table(targets), rateTable],
                           details: Details(corralBinary: binary, concurrency: concurrency, executionsPerSecond: rates, targets: targets),
                           failureMessages: failures)
    }

    static func task(_ type: String, _ payload: [String: Any], id: String) -> [UInt8] {
        Array((try? JSONSerialization.data(withJSONObject: ["task_id": id, "task_type": type, "payload": payload, "priority": "MEDIUM"])) ?? Data())
    }

    static func waitForResponders(_ client: NATSConnection, count: Int) async throws {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let inbox = try client.subscribe("_BENCH_PING.\(UInt32.random(in: 0...UInt32.max))")
            try client.publish("$SRV.PING.coding_agent", payload: [], replyTo: inbox.subject)
            let collector = Task { var answered = 0; for await _ in inbox { answered += 1 }; return answered }
            try await Task.sleep(nanoseconds: 300_000_000)
            inbox.unsubscribe()
            if await collector.value >= count { return }
        }
        throw Failed(description: "\(count) instance(s) did not answer $SRV.PING within 30 s")
    }

    static func natsRoundTrips(_ client: NATSConnection, count: Int, warmup: Int) async throws -> LatencySummary {
        var samples: [Double] = []
        let payload = task("list_languages", [:], id: "bench")
        for i in 0..<(count + warmup) {
            let start = SpawnTimer.monotonicNanoseconds()
            let reply = try await client.request("agent.coding_agent.task", payload: payload, timeout: 10)
            guard reply.payload.count > 100 else { throw Failed(description: "list_languages answered \(String(decoding: reply.payload, as: UTF8.self))") }
            if i >= warmup { samples.append(Double(SpawnTimer.monotonicNanoseconds() - start) / 1e6) }
        }
        return LatencySummary(milliseconds: samples)
    }

    static func httpRoundTrips(port: Int, count: Int, warmup: Int) throws -> LatencySummary {
        let c = HTTPConnection(port: port, timeout: 30)
        var samples: [Double] = []
        for i in 0..<(count + warmup) {
            let start = SpawnTimer.monotonicNanoseconds()
            let response = try c.request("GET", "/v1/languages")
            guard response.status == 200 else { throw Failed(description: "GET /v1/languages answered \(response.status)") }
            if i >= warmup { samples.append(Double(SpawnTimer.monotonicNanoseconds() - start) / 1e6) }
        }
        return LatencySummary(milliseconds: samples)
    }

    /// Executions per second with `concurrency` requests in flight, and what failed.
    static func throughput(_ client: NATSConnection, count: Int, concurrency: Int, tag: String) async throws -> (Double, [String]) {
        let next = SharedState(0), failures = SharedState<[String]>([])
        let start = SpawnTimer.monotonicNanoseconds()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    while true {
                        let i = next.withLock { n in defer { n += 1 }; return n }
                        guard i < count else { return }
                        let marker = "\(tag)-\(i)"
                        let payload = task("execute_code", ["code": "print('\(marker)')", "language": "python"], id: marker)
                        do throws(NATSError) {
                            let reply = try await client.request("agent.coding_agent.task", payload: payload, timeout: 60)
                            let body = (try? JSONSerialization.jsonObject(with: Data(reply.payload))) as? [String: Any]
                            let stdout = (body?["result"] as? [String: Any])?["stdout"] as? String
                            if stdout != marker + "\n" { failures.withLock { $0.append("\(marker): \(String(decoding: reply.payload.prefix(300), as: UTF8.self))") } }
                        } catch {
                            failures.withLock { $0.append("\(marker): \(error)") }
                        }
                    }
                }
            }
        }
        let seconds = Double(SpawnTimer.monotonicNanoseconds() - start) / 1e9
        return (Double(count) / seconds, failures.withLock { $0 })
    }
}

/// Debian's nats-server on a free loopback port, for the bench's own run.
final class NATSServerProcess: @unchecked Sendable {
    let process = Process()
    let port: Int

    init(binary: String) throws {
        port = Int.random(in: 20_000...40_000)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["-a", "127.0.0.1", "-p", String(port)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            let connected = withUnsafePointer(to: &address) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            close(fd)
            if connected { return }
            guard process.isRunning else { break }
            usleep(20_000)
        }
        stop()
        throw FleetBench.Failed(description: "nats-server did not start on port \(port)")
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
    }
}

/// A value shared by the throughput run's tasks.
final class SharedState<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { value.withLock { body(&$0) } }
}
