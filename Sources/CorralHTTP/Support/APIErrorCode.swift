import CorralEngine
import HTTPTypes

/// Every error code of the API, with its HTTP status: the one table of both. Routes name the
/// codes they may answer (`APIRoute.errors`), and `/openapi.json` documents them from there.
public enum APIErrorCode: String, Sendable, CaseIterable {
    /// The request is malformed: not JSON, an unknown field, a wrong type, a bad query parameter.
    case invalidRequest = "invalid_request"
    case unknownLanguage = "unknown_language"
    /// A limit outside what `GET /v1/limits` allows (never clamped).
    case invalidLimit = "invalid_limit"
    /// No API key, or one that is not valid.
    case unauthorized
    /// No such route, or no such execution.
    case notFound = "not_found"
    /// The caller may not do this (a host path outside the allowed roots).
    case forbidden
    /// The request conflicts with the current state (a shadow apply over changed host files).
    case conflict
    /// The session expired (the message says when).
    case gone
    /// A server-wide maximum is reached (`--max-sessions`; `Retry-After` says when to retry).
    case limitReached = "limit_reached"
    /// The route exists but not with this method (`Allow` says which).
    case methodNotAllowed = "method_not_allowed"
    /// The body, the code or the input is larger than allowed.
    case payloadTooLarge = "payload_too_large"
    /// A body that is not declared as JSON.
    case unsupportedMediaType = "unsupported_media_type"
    /// The admission queue is full (`Retry-After` says when to retry).
    case queueFull = "queue_full"
    /// Corral itself failed.
    case internalError = "internal_error"
    /// The service is draining.
    case shuttingDown = "shutting_down"

    public var status: HTTPResponse.Status {
        switch self {
        case .invalidRequest, .unknownLanguage, .invalidLimit: .badRequest
        case .unauthorized: .unauthorized
        case .notFound: .notFound
        case .forbidden: .forbidden
        case .conflict: .conflict
        case .gone: .gone
        case .limitReached: .tooManyRequests
        case .methodNotAllowed: .methodNotAllowed
        case .payloadTooLarge: .contentTooLarge
        case .unsupportedMediaType: .unsupportedMediaType
        case .queueFull: .tooManyRequests
        case .internalError: .internalServerError
        case .shuttingDown: .serviceUnavailable
        }
    }

    /// The code of an engine refusal.
    public init(_ kind: EngineError.Kind) {
        self = switch kind {
        case .invalidRequest: .invalidRequest
        case .unknownLanguage: .unknownLanguage
        case .invalidLimit: .invalidLimit
        case .payloadTooLarge: .payloadTooLarge
        case .queueFull: .queueFull
        case .shuttingDown: .shuttingDown
        case .notFound: .notFound
        case .gone: .gone
        case .forbidden: .forbidden
        case .conflict: .conflict
        case .limitReached: .limitReached
        case .internalError: .internalError
        }
    }
}
