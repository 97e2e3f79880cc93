import CorralSandbox

/// Why the engine refused a request (or could not start), with what the caller should do.
/// Every front end maps `code` through one table (`EngineError.Code.httpStatus`, `jsonCode`):
/// HTTP answers with that status and `{"error": {"code": jsonCode, ...}}`, the CLI exits 64 for
/// a caller's mistake (a 4xx) and 125 for Corral's own failure (a 5xx).
public struct EngineError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as a stable code. Its raw value is the JSON error code.
    public enum Code: String, Sendable, CaseIterable {
        /// The request is malformed or asks for something impossible.
        case invalidRequest = "invalid_request"
        /// The request names a language the catalog does not have.
        case unknownLanguage = "unknown_language"
        /// A limit is out of its allowed range (`limit` says which and the range).
        case invalidLimit = "invalid_limit"
        /// The code or body is larger than allowed.
        case payloadTooLarge = "payload_too_large"
        /// The admission queue is full; retry after `retryAfterSeconds`.
        case queueFull = "queue_full"
        /// The engine is shutting down.
        case shuttingDown = "shutting_down"
        /// The execution, session, process or file asked for does not exist.
        case notFound = "not_found"
        /// The session asked for existed but expired (the message says when).
        case gone
        /// The caller may not do this: a host path outside the allowed roots, another key's session.
        case forbidden
        /// The request conflicts with the state it acts on (a shadow apply whose host files changed).
        case conflict
        /// A server-wide count is at its maximum (`--max-sessions`); retry after `retryAfterSeconds`.
        case limitReached = "limit_reached"
        /// Corral itself failed (its data files, its store, its host).
        case internalError = "internal_error"
    }

    /// The name this type had first; `kind` and `Kind` keep working.
    public typealias Kind = Code

    /// A limit outside its range: which one (its wire name), the value asked for and the range allowed.
    public struct LimitViolation: Sendable, Equatable {
        public var name: String
        public var value: Double
        public var allowed: ClosedRange<Double>
    }

    public var code: Code
    public var message: String
    /// Seconds after which a retry may succeed (queue full).
    public var retryAfterSeconds: Int?
    /// The request field at fault, by its wire name (`environment_vars`, `profile`, `limit`), when one is.
    public var field: String?
    /// Set for `invalidLimit`: the limit, its value and the range, so a front end can name its own flag.
    public var limit: LimitViolation?

    public init(_ code: Code, _ message: String, retryAfterSeconds: Int? = nil, field: String? = nil) {
        self.code = code
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
        self.field = field
    }

    /// The same as `code` (its first name).
    public var kind: Code {
        get { code }
        set { code = newValue }
    }

    public var description: String { message }
}

extension EngineError {
    /// A limit out of range, from the sandbox's check of the resolved limits.
    init(_ error: SandboxError) {
        guard case let .invalidLimit(name, value, allowed) = error else {
            self.init(.invalidLimit, error.description)
            return
        }
        self.init(.invalidLimit, error.description + " (GET /v1/limits lists the ranges)", field: name)
        limit = LimitViolation(name: name, value: value, allowed: allowed)
    }
}
