import CorralTestSupport
import Foundation

/// A fleet on this host, all real: Debian's nats-server, PostgreSQL and redis-server on free
/// loopback ports, and `corral serve` instances (the built binary) joining them.
final class FleetHarness: @unchecked Sendable {
    let nats = LocalServer.nats()
    let postgres: LocalServer
    let redis = LocalServer.redis()
    private(set) var instances: [LocalServer] = []
    let configPath: String
    var natsURL: String { "nats://127.0.0.1:\(nats.port)" }
    var redisURL: String { "redis://127.0.0.1:\(redis.port)" }
    var postgresURL: String { postgres.postgresURL(database: "fleet") }

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static var available: Bool {
        LocalServer.natsServerInstalled && LocalServer.redisServerInstalled && LocalServer.postgresInstalled && geteuid() == 0
            && FileManager.default.isExecutableFile(atPath: repositoryRoot + "/.venv/bin/python3")
    }

    /// `breakerTimeout`: seed 000's circuit_breaker_timeout_seconds for the instances (short, so a
    /// test sees breakers close again).
    init(breakerTimeout: Double = 1) throws {
        postgres = try LocalServer.postgres()
        configPath = NSTemporaryDirectory() + "corral-fleet-\(UUID().uuidString).json"
        try Data(#"{"circuit_breaker_timeout_seconds": \#(breakerTimeout), "heartbeat_interval_seconds": 1, "retry_base_delay_seconds": 0.2, "retry_max_delay_seconds": 1}"#.utf8).write(to: URL(fileURLWithPath: configPath))
        try nats.start()
        try postgres.start(timeout: 30)
        try postgres.psql("CREATE DATABASE fleet")
        try redis.start()
    }

    /// Starts `corral serve` as instance `id` of the fleet and waits until it reports all three servers connected.
    @discardableResult
    func startInstance(_ id: String, dataDirectory: String? = nil) throws -> LocalServer {
        guard let binary = CorralCLI.binary else { throw CorralCLI.CLITestError("no corral binary") }
        let port = LocalServer.freePort()
        let instance = LocalServer(name: "corral-\(id)", port: port, arguments: [
            binary.path, "serve", "--port", "{port}", "--data-dir", dataDirectory ?? "{dir}/data", "--instance-id", id,
            "--nats-url", natsURL, "--redis-url", redisURL, "--postgres-url", postgresURL, "--config", configPath,
            "--workers", "2", "--warm-pool", "2", "--grace", "5"])
        try instance.start(timeout: 60)
        instances.append(instance)
        try waitFor("\(id) connected to NATS, PostgreSQL and Redis", timeout: 30) {
            let c = Self.status(instance)?["connections"] as? [String: Any]
            return ["nats", "postgres", "redis"].allSatisfy { ((c?[$0] as? [String: Any])?["state"] as? String) == "connected" }
        }
        return instance
    }

    /// `GET /v1/status` of an instance, or nil.
    static func status(_ instance: LocalServer) -> [String: Any]? {
        let (code, body) = curl(["-s", "--max-time", "5", "http://127.0.0.1:\(instance.port)/v1/status"])
        guard code == 0 else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
    }

    /// A connection's entry in an instance's status (`state`, `circuit_breaker`).
    static func connection(_ name: String, of instance: LocalServer) -> [String: Any]? {
        (status(instance)?["connections"] as? [String: Any])?[name] as? [String: Any]
    }

    /// POST /v1/execute on an instance.
    static func execute(_ instance: LocalServer, _ body: [String: Any]) -> [String: Any] {
        let json = String(decoding: (try? JSONSerialization.data(withJSONObject: body)) ?? Data(), as: UTF8.self)
        let (_, out) = curl(["-s", "--max-time", "30", "-H", "Content-Type: application/json", "-d", json, "http://127.0.0.1:\(instance.port)/v1/execute"])
        return (try? JSONSerialization.jsonObject(with: Data(out.utf8))) as? [String: Any] ?? [:]
    }

    static func curl(_ arguments: [String]) -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return (-1, "\(error)") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func waitFor(_ what: String, timeout: Double, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return }
            usleep(100_000)
        }
        throw CorralCLI.CLITestError("timed out after \(timeout) s waiting until \(what); logs: \(instances.map { $0.logTail.suffix(800) })")
    }

    /// Starts a script of Tests/FleetScripts with the venv's Python; `finish()` waits and returns (status, output).
    func python(_ script: String, _ arguments: [String]) throws -> RunningScript {
        try RunningScript(Self.repositoryRoot + "/.venv/bin/python3", [Self.repositoryRoot + "/Tests/FleetScripts/" + script] + arguments)
    }

    /// How many of `ids` PostgreSQL holds.
    func executionsInPostgres(_ ids: [String]) throws -> Int {
        guard !ids.isEmpty else { return 0 }
        let list = ids.map { "'\($0.replacingOccurrences(of: "'", with: ""))'" }.joined(separator: ",")
        return Int(try postgres.psql("SELECT COUNT(*) FROM executions WHERE execution_id IN (\(list))", database: "fleet")) ?? -1
    }

    func stop() {
        for i in instances { i.remove() }
        redis.remove()
        postgres.remove()
        nats.remove()
        try? FileManager.default.removeItem(atPath: configPath)
    }
}

/// A child process whose output goes to a file (nothing can fill a pipe while the test waits).
final class RunningScript: @unchecked Sendable {
    let process = Process()
    let outputPath = NSTemporaryDirectory() + "corral-script-\(UUID().uuidString).out"

    init(_ executable: String, _ arguments: [String]) throws {
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        let handle = FileHandle(forWritingAtPath: outputPath)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// Waits (up to `timeout` s, then kills it) and returns its exit status and output.
    func finish(timeout: Double = 600) -> (Int32, String) {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: outputPath)
        return (process.terminationStatus, text)
    }

    /// The last line of the output as a JSON object.
    static func summary(_ output: String) -> [String: Any] {
        let last = output.split(separator: "\n").last.map(String.init) ?? ""
        return (try? JSONSerialization.jsonObject(with: Data(last.utf8))) as? [String: Any] ?? [:]
    }
}
