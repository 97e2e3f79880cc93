import CorralEngine
import CorralSandbox
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore

/// Calls of the session API for tests: each returns what the server answered, decoded.
extension LiveClient {
    /// Creates a session and returns its id (fails the test through `SessionTestError` when refused).
    func createSession(_ body: [String: Any] = [:], headers: HTTPFields = [:]) async throws -> String {
        let (status, _, reply) = try await post("/v1/sessions", json: body, headers: headers)
        guard status == .ok, let id = reply["session_id"] as? String else {
            throw SessionTestError("POST /v1/sessions answered \(status): \(reply)")
        }
        return id
    }

    /// Runs a foreground command and returns the result object.
    func exec(_ id: String, _ command: String, extra: [String: Any] = [:], headers: HTTPFields = [:]) async throws -> (HTTPResponse.Status, [String: Any]) {
        var body: [String: Any] = ["command": command]
        for (k, v) in extra { body[k] = v }
        let (status, _, reply) = try await post("/v1/sessions/\(id)/exec", json: body, headers: headers)
        return (status, reply)
    }

    /// PUTs raw bytes at a workspace path.
    func putFile(_ id: String, path: String, bytes: [UInt8]) async throws -> (HTTPResponse.Status, [String: Any]) {
        var h = HTTPFields()
        h[.contentType] = "application/octet-stream"
        return try await execute(uri: "/v1/sessions/\(id)/files?path=\(Self.query(path))", method: .put, headers: h,
                                 body: ByteBuffer(bytes: bytes)) { response in
            (response.status, Self.object(response.body))
        }
    }

    /// GETs a URI and returns status, content type and the raw body.
    func getBytes(_ uri: String) async throws -> (HTTPResponse.Status, String?, [UInt8]) {
        try await execute(uri: uri, method: .get) { response in
            (response.status, response.headers[.contentType], Array(response.body.readableBytesView))
        }
    }

    func delete(_ uri: String) async throws -> (HTTPResponse.Status, [String: Any]) {
        try await execute(uri: uri, method: .delete) { response in (response.status, Self.object(response.body)) }
    }

    /// A query value, percent-encoded (a path may hold spaces, newlines, `&`, `%`, non-UTF-8 escapes).
    static func query(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~/")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}

struct SessionTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// What the host holds for sessions now: mounts under the sessions root and session cgroups.
enum SessionHostState {
    static func mounts(containing id: String) -> [String] {
        (Posix.readFile("/proc/self/mountinfo") ?? "").split(separator: "\n")
            .map(String.init).filter { $0.contains("/run/corral/sessions/") && $0.contains(id) }
    }

    static func directoryExists(_ id: String) -> Bool {
        let root = "/run/corral/sessions/\(getpid())/\(id)"
        return FileManager.default.fileExists(atPath: root)
    }
}
