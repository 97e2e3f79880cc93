import CorralSandbox

/// Why the engine refused a request, with what the caller should do.
/// Front ends map `kind` to their own codes (HTTP status, NATS error).
public struct EngineError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The request is malformed or asks for something impossible (HTTP 400).
        case invalidRequest = "invalid_request"
        case unknownLanguage = "unknown_language"
        case invalidLimit = "invalid_limit"
        /// The code or body is larger than allowed (HTTP 413).
        case payloadTooLarge = "payload_too_large"
        /// The admission queue is full (HTTP 429 with Retry-After).
        case queueFull = "queue_full"
        /// The engine is shutting down (HTTP 503).
        case shuttingDown = "shutting_down"
        case notFound = "not_found"
        /// Corral itself failed (HTTP 500).
        case internalError = "internal_error"
    }

    public var kind: Kind
    public var message: String
    /// Seconds after which a retry may succeed (queue full).
    public var retryAfterSeconds: Int?

    public init(_ kind: Kind, _ message: String, retryAfterSeconds: Int? = nil) {
        self.kind = kind
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { message }
}
