import CorralEngine
import CorralHTTP
import CorralRuntimes
import CorralSandbox
import CorralStore
import CorralTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A real engine and server on a real port, with a private SQLite history.
struct TestService {
    let engine: Engine
    let server: CorralServer
    let dataDirectory: String

    init(workers: Int = 2, queue: Int = 64, apiKeys: [String: String] = [:], maxCodeBytes: Int = 1 << 20,
         maxBatchSize: Int = HTTPConfiguration().maxBatchSize, maxBodyBytes: Int = HTTPConfiguration().maxBodyBytes,
         runtime: Runtime = TestSupport.runtime, configure: (inout EngineConfiguration) -> Void = { _ in }) throws {
        var configuration = EngineConfiguration()
        configuration.workers = workers
        configuration.queueCapacity = queue
        configuration.maxCodeBytes = maxCodeBytes
        let dataDirectory = NSTemporaryDirectory() + "corral-http-\(UUID().uuidString)"
        configuration.tasks.directory = dataDirectory + "/tasks"
        configure(&configuration)
        self.dataDirectory = dataDirectory
        let store = try SQLiteHistoryStore(path: dataDirectory + "/history.sqlite")
        engine = try Engine(configuration: configuration, runtime: runtime, history: store,
                        logger: Logger(label: "test"))
        var http = HTTPConfiguration()
        http.port = 0
        http.apiKeys = apiKeys
        http.maxBatchSize = maxBatchSize
        http.maxBodyBytes = maxBodyBytes
        server = CorralServer(engine: engine, http: http)
    }

    func app(probe: StartProbe? = nil) -> some ApplicationProtocol {
        server.application(logger: Logger(label: "test-http"), services: probe.map { [$0] } ?? [],
                           onServerRunning: { port in probe?.note("listening on \(port)") })
    }

    /// Runs `body` with a client of the live server on a real port.
    ///
    /// HummingbirdTesting waits for the port without a deadline: a server that never binds would
    /// hang the whole run (CI saw it three times, at a test's start). A watchdog ends the run
    /// after 60 s instead, saying what the start got to and what the process was doing.
    func live(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let probe = StartProbe()
        let watchdog = Task {
            try await Task.sleep(nanoseconds: 60_000_000_000)
            guard !probe.isListening else { return }
            let report = "the live test server did not start within 60 s: \(probe.events); \(StartProbe.processDiagnosis())"
            print(report)
            fatalError(report)
        }
        defer { watchdog.cancel() }
        try await app(probe: probe).test(.live) { client in try await body(client) }
        engine.sessions.shutdown()  // as a server's shutdown does: no session outlives its test
        try? FileManager.default.removeItem(atPath: dataDirectory)
    }
}

/// Records how far a live test server's start got: its services started, a graceful shutdown
/// asked for (a signal, or the test's end), the port it listens on.
final class StartProbe: Service, Sendable {
    private let log = Mutex<[String]>([])
    private let started = Date()

    func note(_ event: String) {
        log.withLock { $0.append(String(format: "+%.3f s ", Date().timeIntervalSince(started)) + event) }
    }
    var events: [String] { log.withLock { $0 } }
    var isListening: Bool { events.contains { $0.contains("listening") } }

    func run() async throws {
        note("services started")
        try? await gracefulShutdown()
        note("graceful shutdown asked for")
    }

    /// Pending, blocked and ignored signals, and each thread's name and kernel wait channel.
    static func processDiagnosis() -> String {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let signals = status.split(separator: "\n").filter { $0.hasPrefix("Sig") || $0.hasPrefix("ShdPnd") }.joined(separator: " ")
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        let threads = tasks.sorted().map { tid -> String in
            let name = ((try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8)) ?? "?").trimmingCharacters(in: .whitespacesAndNewlines)
            let wchan = (try? String(contentsOfFile: "/proc/self/task/\(tid)/wchan", encoding: .utf8)) ?? "?"
            return "\(tid) \(name) \(wchan)"
        }
        return "signals: \(signals); threads: \(threads.joined(separator: ", "))"
    }
}

extension TestClientProtocol {
    /// POSTs a JSON object (or raw text) and returns status, headers and the decoded JSON object.
    func post(_ path: String, json: Any? = nil, raw: String? = nil, headers: HTTPFields = [:]) async throws -> (HTTPResponse.Status, HTTPFields, [String: Any]) {
        let body = try raw.map { Data($0.utf8) } ?? JSONSerialization.data(withJSONObject: json ?? [:])
        var h = headers
        h[.contentType] = "application/json"
        return try await execute(uri: path, method: .post, headers: h, body: ByteBuffer(bytes: body)) { response in
            (response.status, response.headers, Self.object(response.body))
        }
    }

    /// Sends anything (any method, headers, raw body) and returns status, headers and the body as JSON.
    func send(_ path: String, method: HTTPRequest.Method, headers: HTTPFields = [:], body: String? = nil) async throws -> (HTTPResponse.Status, HTTPFields, JSONNode?) {
        try await execute(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
            (response.status, response.headers, try? JSONNode.parse(Data(buffer: response.body)))
        }
    }

    func get(_ path: String, headers: HTTPFields = [:]) async throws -> (HTTPResponse.Status, HTTPFields, [String: Any], String) {
        try await execute(uri: path, method: .get, headers: headers) { response in
            (response.status, response.headers, Self.object(response.body), String(buffer: response.body))
        }
    }

    static func object(_ buffer: ByteBuffer) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: buffer))) as? [String: Any] ?? [:]
    }
}

func errorCode(_ body: [String: Any]) -> String? {
    (body["error"] as? [String: Any])?["code"] as? String
}

func errorMessage(_ body: [String: Any]) -> String {
    (body["error"] as? [String: Any])?["message"] as? String ?? ""
}
