import CorralEngine
import Foundation
import HTTPTypes
import Hummingbird

/// Every error of the API: `{ "error": { "code": ..., "message": ... } }` with the code's status.
public struct APIError: HTTPResponseError, Sendable {
    public var code: APIErrorCode
    public var message: String
    public var retryAfterSeconds: Int?
    /// The methods the route takes (`Allow`, with `method_not_allowed`).
    public var allowedMethods: [HTTPRequest.Method] = []

    public init(_ code: APIErrorCode, _ message: String, retryAfterSeconds: Int? = nil) {
        self.code = code; self.message = message; self.retryAfterSeconds = retryAfterSeconds
    }

    public init(_ error: EngineError) {
        self.init(APIErrorCode(error.kind), error.message, retryAfterSeconds: error.retryAfterSeconds)
    }

    public var status: HTTPResponse.Status { code.status }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try JSONBody.response(ErrorBody(code, message), status: status)
        if let retryAfterSeconds { response.headers[.retryAfter] = String(retryAfterSeconds) }
        if !allowedMethods.isEmpty { response.headers[.allow] = allowedMethods.map(\.rawValue).joined(separator: ", ") }
        return response
    }
}
