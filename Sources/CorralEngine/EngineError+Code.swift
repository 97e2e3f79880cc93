extension EngineError.Code {
    /// The HTTP status of an error with this code: the one table every front end maps through.
    /// 4xx: the caller can fix the request; 5xx: Corral (or its host) failed.
    public var httpStatus: Int {
        switch self {
        case .invalidRequest, .unknownLanguage, .invalidLimit: 400
        case .forbidden: 403
        case .notFound: 404
        case .conflict: 409
        case .gone: 410
        case .payloadTooLarge: 413
        case .queueFull, .limitReached: 429
        case .internalError: 500
        case .shuttingDown: 503
        }
    }

    /// The `code` of the JSON error body (`{"error": {"code": ..., "message": ...}}`).
    public var jsonCode: String { rawValue }

    /// Whether the caller's request is at fault (a 4xx) rather than Corral (a 5xx).
    public var isCallerError: Bool { httpStatus < 500 }
}
