import CorralEngine
import CorralPolicy
import Foundation
import Hummingbird

extension CorralServer {
    func addExecuteRoutes(to router: Router<CorralRequestContext>) {
        let engine = self.engine, http = self.http
        router.on(RouterPath(APIRoute.execute.path), method: APIRoute.execute.method) { request, context in
            let body = try await JSONBody.decode(ExecuteRequest.self, from: request, limit: http.maxBodyBytes)
            let ctx = ExecutionContext(caller: context.caller, requestID: context.requestID)
            if StreamedCall.wants(request) {
                return try await StreamedCall.respond { sink throws(EngineError) in
                    var options = ExecuteOptions()
                    options.onOutput = sink
                    return try await engine.execute(body, options: options, context: ctx)
                }
            }
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
                throw APIError(.invalidRequest, "a batch holds 1 to \(http.maxBatchSize) requests, got \(batch.requests.count)")
            }
            if let refusal = engine.batchRefusal(batch.requests) { throw APIError(refusal) }
            let results = await engine.executeBatch(batch.requests, context: ExecutionContext(caller: context.caller, requestID: context.requestID))
            return try JSONBody.response(BatchResponse(results: results))
        }
    }
}
