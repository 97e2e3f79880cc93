import CorralEngine
import CorralNATS
import CorralNATSClient
import CorralStore
import CorralTestSupport
import Foundation
import Logging
import ServiceLifecycle

/// A real engine (real jails, a private SQLite history) behind a NATS front on a real nats-server.
struct FleetFixture {
    let engine: Engine
    let front: NATSFront
    let nats: LocalServer
    let dataDirectory: String
    var url: String { "nats://127.0.0.1:\(nats.port)" }

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static func engine(cache: any ResultCache = MemoryResultCache(), history: (any HistoryStore)? = nil,
                       configure: (inout EngineConfiguration) -> Void = { _ in }) throws -> (Engine, String) {
        var configuration = EngineConfiguration()
        configuration.workers = 2
        let dataDirectory = NSTemporaryDirectory() + "corral-fleet-\(UUID().uuidString)"
        configuration.tasks.directory = dataDirectory + "/tasks"
        configure(&configuration)
        let store = try history ?? SQLiteHistoryStore(path: dataDirectory + "/history.sqlite")
        return (try Engine(configuration: configuration, runtime: TestSupport.runtime, history: store, cache: cache, logger: Logger(label: "test")), dataDirectory)
    }

    /// Starts nats-server and a NATS front over a new engine, runs `body`, then shuts the front
    /// down gracefully (as SIGTERM does) and stops the server.
    static func run(configure: (inout NATSServiceConfiguration) -> Void = { _ in },
                    _ body: @Sendable (FleetFixture) async throws -> Void) async throws {
        let nats = LocalServer.nats()
        try nats.start()
        defer { nats.remove() }
        let (engine, dataDirectory) = try Self.engine()
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        var configuration = NATSServiceConfiguration(url: "nats://127.0.0.1:\(nats.port)")
        configure(&configuration)
        let front = try NATSFront(engine: engine, configuration: configuration, logger: Logger(label: "test-nats"))
        let group = ServiceGroup(configuration: .init(services: [front], logger: Logger(label: "test-group")))
        let running = Task { try await group.run() }
        let fixture = FleetFixture(engine: engine, front: front, nats: nats, dataDirectory: dataDirectory)
        do {
            try await fixture.waitUntilServing()
            try await body(fixture)
        } catch {
            await group.triggerGracefulShutdown()
            _ = try? await running.value
            engine.sessions.shutdown()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await running.value
        engine.sessions.shutdown()
    }

    /// Until the front answers `$SRV.PING` (its subscriptions are in place).
    func waitUntilServing() async throws {
        let client = try await NATSConnection.connect(NATSOptions(host: "127.0.0.1", port: nats.port))
        defer { client.close() }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if (try? await client.request("$SRV.PING", payload: [], timeout: 0.5)) != nil { return }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw LocalServerError(message: "the NATS front did not start serving within 10 s")
    }

    /// Runs a script of Tests/FleetScripts with the bootstrap venv's Python (nats-py).
    static func python(_ script: String, _ arguments: [String], timeout: Double = 300) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: repositoryRoot + "/.venv/bin/python3")
        p.arguments = [repositoryRoot + "/Tests/FleetScripts/" + script] + arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let killer = DispatchWorkItem { if p.isRunning { p.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        killer.cancel()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static var natsPyInstalled: Bool {
        FileManager.default.isExecutableFile(atPath: repositoryRoot + "/.venv/bin/python3")
    }

    /// A seed 000 task message.
    static func task(_ type: String, _ payload: [String: Any], id: String = UUID().uuidString) -> [UInt8] {
        Array((try? JSONSerialization.data(withJSONObject: ["task_id": id, "task_type": type, "payload": payload, "priority": "MEDIUM"])) ?? Data())
    }

    static func object(_ bytes: [UInt8]) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:]
    }
}

/// One service under a ServiceGroup, shut down on demand as SIGTERM would.
final class ServiceGroupRunner: Sendable {
    let group: ServiceGroup
    let task: Task<Void, any Error>
    init(_ service: any Service) {
        let group = ServiceGroup(configuration: .init(services: [service], logger: Logger(label: "test-group")))
        self.group = group
        task = Task { try await group.run() }
    }
    func shutdown() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}
