import Foundation
import HTTPTypes
import Hummingbird

/// Takes the correlation id from `X-Request-ID` (or makes one), puts it in the
/// response, the logger and the context (the engine records it with the execution).
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = CorralRequestContext
    static let header = HTTPField.Name("X-Request-ID")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let given = request.headers[Self.header].map { String($0.prefix(128)) }.flatMap { $0.isEmpty ? nil : $0 }
        let id = given?.allSatisfy({ $0.isASCII && !$0.isNewline }) == true ? given! : UUID().uuidString.lowercased()
        context.requestID = id
        context.logger[metadataKey: "request_id"] = .string(id)
        do {
            var response = try await next(request, context)
            response.headers[Self.header] = id
            return response
        } catch let error as any HTTPResponseError {
            var response = try error.response(from: request, context: context)
            response.headers[Self.header] = id
            return response
        }
    }
}
