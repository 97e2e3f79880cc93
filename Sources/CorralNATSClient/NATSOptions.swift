import Foundation

/// How to reach a NATS server and how to behave when it goes away.
public struct NATSOptions: Sendable {
    public var host: String
    public var port: Int
    public var user: String?
    public var password: String?
    public var token: String?
    /// The connection's name, shown by the server's monitoring (`/connz`).
    public var name = "corral"
    /// Seconds for TCP, the server's INFO and the answer to CONNECT together.
    public var connectTimeout: Double = 5
    /// The first wait before reconnecting; it doubles (with ±20% jitter) up to `reconnectWaitMax`.
    public var reconnectWaitInitial: Double = 0.02
    /// The longest wait between two reconnection attempts: a server back after a restart is
    /// reached within this (the fleet promises 2 s).
    public var reconnectWaitMax: Double = 0.5
    /// Seconds between client PINGs; `maxPingsOutstanding` unanswered ones close the connection
    /// (and reconnect): a server that stopped answering is noticed even with no traffic.
    public var pingInterval: Double = 10
    public var maxPingsOutstanding = 2
    /// Messages a subscription holds for its consumer; more are dropped and counted (a slow
    /// consumer must not grow the process without bound).
    public var pendingMessagesLimit = 4096
    /// Payload bytes a subscription holds for its consumer (one message of any size when it holds
    /// none); more are dropped and counted, as past `pendingMessagesLimit`.
    public var pendingBytesLimit = 64 << 20
    /// Bytes published while disconnected, sent once reconnected; past this a publish fails.
    public var reconnectBufferBytes = 8 << 20

    public init(host: String = "127.0.0.1", port: Int = 4222) {
        self.host = host
        self.port = port
    }

    /// `nats://[user[:password]@]host[:port]` or `nats://token@host[:port]` (the default port is 4222).
    public init(url: String) throws(NATSError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else {
            throw NATSError(.invalidURL, "'\(url)' is not a URL; give nats://HOST:PORT")
        }
        guard scheme == "nats" else {
            throw NATSError(.invalidURL, "'\(url)': only nats:// URLs are supported (no TLS in this client); give nats://HOST:PORT")
        }
        guard let host = components.host, !host.isEmpty else {
            throw NATSError(.invalidURL, "'\(url)' names no host; give nats://HOST:PORT")
        }
        let port = components.port ?? 4222
        guard (1...65535).contains(port) else { throw NATSError(.invalidURL, "'\(url)': port \(port) is out of range") }
        self.init(host: host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host, port: port)
        switch (components.user, components.password) {
        case (let user?, let password?): self.user = user.removingPercentEncoding ?? user; self.password = password.removingPercentEncoding ?? password
        case (let token?, nil): self.token = token.removingPercentEncoding ?? token
        default: break
        }
    }

    /// The URL without credentials, for logs.
    public var redactedURL: String { "nats://\(host.contains(":") ? "[\(host)]" : host):\(port)" }
}
