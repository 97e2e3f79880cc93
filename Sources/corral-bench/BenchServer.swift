import CorralClient
import Foundation
import Glibc

/// A `corral serve` with its defaults on a free loopback port and a temporary data directory,
/// for the HTTP sections (`http-latency`, `http-throughput`). It passes no tuning flag: the
/// sections measure whatever the server does by default (worker count, pools, cache).
struct BenchServer {
    let server: ServerProcess
    let scratch: String
    let binary: String
    let arguments: [String]
    /// Makes each section's code unique to this run (no result of an earlier run is replayed).
    let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)

    var port: Int { server.port }

    /// Starts `binary serve --host 127.0.0.1 --data-dir TMP --port 0` and waits until it is ready.
    static func start(binary: String, section: String, extraArguments: [String] = []) async throws -> BenchServer {
        guard access(binary, X_OK) == 0 else {
            throw BenchUsageError(message: "no corral binary at \(binary): build it with `swift build -c release --product corral` (scripts/bench does), or give --corral PATH")
        }
        var template = Array("/tmp/corral-bench-\(section)-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else {
            throw BenchUsageError(message: "cannot create a temporary directory: \(String(cString: strerror(errno)))")
        }
        let scratch = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        let dataDirectory = scratch + "/data"
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let arguments = ["--host", "127.0.0.1", "--data-dir", dataDirectory] + extraArguments
        printError("\(section): starting \(binary) serve \(arguments.joined(separator: " ")) --port 0…\n")
        let server = try await ServerProcess.start(binary: binary, arguments: arguments, logPath: scratch + "/serve.log", timeout: 60)
        printError("\(section): listening on 127.0.0.1:\(server.port) (pid \(server.pid))\n")
        return BenchServer(server: server, scratch: scratch, binary: binary, arguments: arguments + ["--port", "0"])
    }

    /// SIGTERM (SIGKILL after 20 s); removes the data directory unless `keep`.
    func stop(keep: Bool) async {
        await server.stop(graceSeconds: 20)
        if keep {
            printError("kept the server's data directory and log in \(scratch)\n")
        } else {
            try? FileManager.default.removeItem(atPath: scratch)
        }
    }

    /// VmRSS of the server plus every process below it (jail stubs, warm interpreters), in MB, and
    /// the PSS of all of them (shared pages counted once).
    func treeRSSMB() -> (serverMB: Double, descendantsMB: Double, descendants: Int, treePSSMB: Double?)? {
        guard let own = server.memory() else { return nil }
        let children = server.descendantsRSS()
        return (Double(own.rssKB) / 1024, Double(children.kb) / 1024, children.processes, server.treePSSKB().map { Double($0) / 1024 })
    }

    /// The body of `POST /v1/execute`.
    static func executeBody(language: String, code: String, useCache: Bool) -> [UInt8] {
        let object: [String: Any] = ["language": language, "code": code, "use_cache": useCache]
        return Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }

    /// `count` requests one after another on one keep-alive connection (its own thread);
    /// the latency of each ok response (HTTP 200, status success, stdout `expectedStdout`),
    /// and the first problems of the others.
    func sequential(count: Int, expectedStdout: String, expectCached: Bool? = nil,
                    body: @escaping @Sendable (Int) -> [UInt8]) async -> SequentialOutcome {
        let port = self.port
        return await onThread {
            let connection = HTTPConnection(port: port, timeout: 120)
            var outcome = SequentialOutcome()
            for i in 0..<count {
                let payload = body(i)
                let start = SpawnTimer.monotonicNanoseconds()
                let response: HTTPConnection.Response
                do throws(HTTPConnection.Failure) {
                    response = try connection.request("POST", "/v1/execute", body: payload)
                } catch {
                    outcome.fail("request \(i): \(error)")
                    continue
                }
                let ms = Double(SpawnTimer.monotonicNanoseconds() - start) / 1e6
                let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
                var ok = response.status == 200 && object?["status"] as? String == "success"
                    && object?["stdout"] as? String == expectedStdout
                if let expectCached, (object?["cached"] as? Bool ?? false) != expectCached { ok = false }
                if ok {
                    outcome.latencies.append(ms)
                } else {
                    outcome.fail("request \(i): HTTP \(response.status): \(response.text.prefix(300))")
                }
            }
            outcome.connects = connection.connects
            return outcome
        }
    }
}

/// What a run of sequential requests saw.
struct SequentialOutcome: Sendable {
    var latencies: [Double] = []
    var failures = 0
    var problems: [String] = []
    var connects = 0

    var summary: LatencySummary? { latencies.isEmpty ? nil : LatencySummary(milliseconds: latencies) }

    mutating func fail(_ problem: String) {
        failures += 1
        if problems.count < 5 { problems.append(problem) }
    }
}

/// A target of a section: reported as met or not, never failing the run.
struct BenchTarget: Sendable, Encodable {
    var measure: String
    var value: Double?
    var unit: String
    /// `<` or `≥`.
    var comparison: String
    var limit: Double

    var met: Bool {
        guard let value else { return false }
        return comparison == "<" ? value < limit : value >= limit
    }

    enum CodingKeys: String, CodingKey { case measure, value, unit, comparison, limit, met }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(measure, forKey: .measure)
        try c.encode(value.map { rounded($0, places: 3) }, forKey: .value)
        try c.encode(unit, forKey: .unit)
        try c.encode(comparison, forKey: .comparison)
        try c.encode(limit, forKey: .limit)
        try c.encode(met, forKey: .met)
    }

    var row: [String] {
        [measure, value.map { String(format: "%.2f %@", $0, unit) } ?? "—", "\(comparison) \(formatLimit) \(unit)", met ? "met" : "NOT MET"]
    }

    private var formatLimit: String { limit == limit.rounded() ? String(Int(limit)) : String(format: "%.2f", limit) }

    static func table(_ targets: [BenchTarget]) -> BenchTable {
        BenchTable(title: "targets (reported, they do not fail the run)", header: ["measure", "value", "target", ""],
                   rows: targets.map(\.row))
    }
}

/// Medians of a bare command run `count` times (after `warmup`), for the comparison rows.
func bareSummary(_ argv: [String], count: Int, warmup: Int) -> (summary: LatencySummary?, failures: Int) {
    let environment = ["PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8"]
    for _ in 0..<warmup { _ = SpawnTimer.run(argv, environment: environment) }
    var samples: [Double] = []
    var failures = 0
    for _ in 0..<count {
        let (ms, ok) = SpawnTimer.run(argv, environment: environment)
        if ok { samples.append(ms) } else { failures += 1 }
    }
    return (samples.isEmpty ? nil : LatencySummary(milliseconds: samples), failures)
}
