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

/// A real engine and server on a real port, with a private SQLite history.
struct TestService {
    let engine: Engine
    let server: CorralServer
    let dataDirectory: String

    init(workers: Int = 2, queue: Int = 64, apiKeys: [String: String] = [:], maxCodeBytes: Int = 1 << 20,
         maxBatchSize: Int = HTTPConfiguration().maxBatchSize, maxBodyBytes: Int = HTTPConfiguration().maxBodyBytes,
         runtime: Runtime = TestSupport.runtime, jupyterAnswerSeconds: Int = HTTPConfiguration().jupyterAnswerSeconds,
         configure: (inout EngineConfiguration) -> Void = { _ in }) throws {
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
        http.jupyterAnswerSeconds = jupyterAnswerSeconds
        server = CorralServer(engine: engine, http: http)
    }
}

extension LiveClient {
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
