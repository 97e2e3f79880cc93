import CorralClient
import Foundation

/// A task's `callback_url`: the final task object POSTed once the task has finished, retried with
/// backoff until a 2xx. Only to hosts the operator allows (`--allow-callback-host`): the server
/// must not become a way to reach what its callers cannot.
public struct TaskCallback: Sendable, Codable, Equatable {
    public var url: String
    /// `pending`, `delivered` or `failed` (every attempt refused or unreachable).
    public var status: String
    public var attempts: Int
    public var lastError: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case url, status, attempts
        case lastError = "last_error"
    }

    public init(url: String, status: String, attempts: Int, lastError: String? = nil) {
        self.url = url; self.status = status; self.attempts = attempts; self.lastError = lastError
    }

    /// Every field, `null` included (one stable shape).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(url, forKey: .url)
        try c.encode(status, forKey: .status)
        try c.encode(attempts, forKey: .attempts)
        try c.encode(lastError, forKey: .lastError)
    }

    /// Where a URL points: http only, a host and port the settings allow, a path.
    struct Target: Sendable {
        var host: String
        var port: Int
        var path: String
    }

    /// The URLs `allowed` admits, as a pattern (the document's).
    static func pattern(_ allowed: [String]) -> String {
        let hosts = allowed.map { entry -> String in
            let escaped = NSRegularExpression.escapedPattern(for: entry)
            return entry.contains(":") ? escaped : escaped + "(?::[0-9]{1,4})?"
        }
        return "^http://(?:" + hosts.joined(separator: "|") + ")(?:[/?][^#]*)?$"
    }

    /// Checks `url` against the allowed hosts (`host` or `host:port`); throws what to fix.
    static func target(_ url: String, allowed: [String]) throws(EngineError) -> Target {
        guard let parts = URLComponents(string: url), parts.scheme == "http", let host = parts.host, !host.isEmpty, parts.user == nil else {
            throw EngineError(.invalidRequest, "callback_url must be an http:// URL with a host (https is not supported)", field: "callback_url")
        }
        let port = parts.port ?? 80
        let hostName = host.lowercased()
        guard allowed.contains(where: { $0.lowercased() == hostName || $0.lowercased() == "\(hostName):\(port)" }) else {
            throw EngineError(.invalidRequest, "callback_url's host '\(host):\(port)' is not allowed on this server"
                + (allowed.isEmpty ? " (it allows none; the operator lists hosts with --allow-callback-host)" : " (allowed: \(allowed.joined(separator: ", ")))"),
                field: "callback_url")
        }
        var path = parts.percentEncodedPath.isEmpty ? "/" : parts.percentEncodedPath
        if let query = parts.percentEncodedQuery { path += "?" + query }
        return Target(host: host, port: port, path: path)
    }

    /// POSTs `body` to `target` until a 2xx or `attempts` tries, waiting `backoff`, 2×, 4× … between
    /// them; blocking (call it on a thread of its own). Returns the final record.
    static func deliver(_ body: Data, to target: Target, url: String, attempts: Int, backoff: Double) -> TaskCallback {
        var record = TaskCallback(url: url, status: "pending", attempts: 0, lastError: nil)
        var wait = backoff
        for attempt in 1...max(1, attempts) {
            record.attempts = attempt
            let connection = HTTPConnection(host: target.host, port: target.port, timeout: 10)
            do throws(HTTPConnection.Failure) {
                let response = try connection.request("POST", target.path, body: Array(body))
                if (200..<300).contains(response.status) {
                    connection.close()
                    record.status = "delivered"
                    record.lastError = nil
                    return record
                }
                record.lastError = "answered \(response.status)"
            } catch {
                record.lastError = error.description
            }
            connection.close()
            if attempt < attempts {
                Thread.sleep(forTimeInterval: wait)
                wait *= 2
            }
        }
        record.status = "failed"
        return record
    }
}
