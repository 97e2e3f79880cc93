import CorralEngine
import CorralPolicy
import Foundation
import Hummingbird

extension CorralServer {
    func addExecuteRoutes(to router: Router<CorralRequestContext>) {
        let engine = self.engine, http = self.http
        router.on(RouterPath(APIRoute.execute.path), method: APIRoute.execute.method) { request, context in
            let body = try await JSONBody.decode(ExecuteRequest.self, from: request, limit: http.maxBodyBytes)
            let response: ExecutionResponse
            do throws(EngineError) {
                response = try await engine.execute(body, context: ExecutionContext(caller: context.caller, requestID: context.requestID))
            } catch { throw APIError(error) }
            return try JSONBody.response(response)
        }
        router.on(RouterPath(APIRoute.validate.path), method: APIRoute.validate.method) { request, _ in
            let body = try await JSONBody.decode(ValidateRequest.self, from: request, limit: http.maxBodyBytes)
            let report: ValidationReport
            do throws(EngineError) { report = try await engine.validate(body) } catch { throw APIError(error) }
            return try JSONBody.response(report)
        }
        router.on(RouterPath(APIRoute.executeBatch.path), method: APIRoute.executeBatch.method) { request, context in
            let batch = try await JSONBody.decode(BatchRequest.self, from: request, limit: http.maxBatchBodyBytes)
            guard !batch.requests.isEmpty, batch.requests.count <= http.maxBatchSize else {
                throw APIError(.badRequest, code: "invalid_request", message: "a batch holds 1 to \(http.maxBatchSize) requests, got \(batch.requests.count)")
            }
            let results = await engine.executeBatch(batch.requests, context: ExecutionContext(caller: context.caller, requestID: context.requestID))
            return try JSONBody.response(BatchResponse(results: results))
        }
    }
}

/// `{ "results": [ result | { "error": {...} } ] }`, in request order.
struct BatchResponse: Encodable {
    var results: [Result<ExecutionResponse, EngineError>]

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        var list = c.nestedUnkeyedContainer(forKey: .results)
        for r in results {
            switch r {
            case .success(let response): try list.encode(response)
            case .failure(let error): try list.encode(ErrorBody(error: .init(code: error.kind.rawValue, message: error.message)))
            }
        }
    }
    enum Keys: String, CodingKey { case results }
}
