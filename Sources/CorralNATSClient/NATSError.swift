/// What went wrong talking to a NATS server, with a message that says what to do about it.
public struct NATSError: Error, Sendable, CustomStringConvertible {
    /// Grows with the client: match the cases you act on and treat the rest alike.
    public enum Code: String, Sendable {
        /// The URL is not `nats://[user[:password]@]host[:port]` (or `[token@]`).
        case invalidURL = "invalid_url"
        /// No TCP connection, or no greeting from the server in time.
        case connectionFailed = "connection_failed"
        /// The server refused the credentials (`-ERR 'Authorization Violation'`).
        case authorizationFailed = "authorization_failed"
        /// No reply within the request's timeout.
        case timeout
        /// Nobody subscribes to the request's subject (the server's 503 status).
        case noResponders = "no_responders"
        /// The message is larger than the server's `max_payload`.
        case payloadTooLarge = "payload_too_large"
        /// Disconnected, and the bytes waiting for the reconnection reached their bound.
        case reconnectBufferFull = "reconnect_buffer_full"
        /// The connection was closed by `close()` or `drain()`.
        case closed
        /// The server sent something this client cannot read, or an error of its own.
        case protocolError = "protocol_error"
        /// A subject or queue name the protocol cannot carry (empty, or with spaces).
        case invalidSubject = "invalid_subject"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "NATS \(code.rawValue): \(message)" }
}
