import CorralEngine
import Foundation
import HTTPTypes
import Hummingbird

/// Every error of the API: `{ "error": { "code": ..., "message": ... } }` with a 4xx/5xx status.
public struct APIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var retryAfterSeconds: Int?

    public init(_ status: HTTPResponse.Status, code: String, message: String, retryAfterSeconds: Int? = nil) {
        self.status = status; self.code = code; self.message = message; self.retryAfterSeconds = retryAfterSeconds
    }

    public init(_ error: EngineError) {
        let status: HTTPResponse.Status = switch error.kind {
        case .invalidRequest, .unknownLanguage, .invalidLimit: .badRequest
        case .payloadTooLarge: .contentTooLarge
        case .queueFull: .tooManyRequests
        case .shuttingDown: .serviceUnavailable
        case .notFound: .notFound
        case .internalError: .internalServerError
        }
        self.init(status, code: error.kind.rawValue, message: error.message, retryAfterSeconds: error.retryAfterSeconds)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try JSONBody.response(ErrorBody(error: .init(code: code, message: message)), status: status)
        if let retryAfterSeconds { response.headers[.retryAfter] = String(retryAfterSeconds) }
        return response
    }
}

/// The JSON of every error response.
struct ErrorBody: Encodable {
    struct Inner: Encodable { var code: String; var message: String }
    var error: Inner
}
