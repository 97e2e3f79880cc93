import CorralEngine
import CorralStore
import Foundation
import Hummingbird

extension CorralServer {
    func addInfoRoutes(to router: Router<CorralRequestContext>) {
        let engine = self.engine, state = self.state
        router.on(RouterPath(APIRoute.languages.path), method: .get) { _, _ in try JSONBody.response(await engine.languages()) }
        router.on(RouterPath(APIRoute.limits.path), method: .get) { _, _ in try JSONBody.response(engine.limits()) }
        router.on(RouterPath(APIRoute.stats.path), method: .get) { request, _ in
            let include = ["1", "true", "yes"].contains(request.uri.queryParameters.get("include_history")?.lowercased() ?? "")
            return try JSONBody.response(await engine.stats(includeHistory: include))
        }
        router.on(RouterPath(APIRoute.status.path), method: .get) { _, _ in
            try JSONBody.response(await engine.status(state: state.isDraining ? "draining" : "running"))
        }
        router.on(RouterPath(APIRoute.health.path), method: .get) { _, _ in try JSONBody.response(["status": "ok"]) }
        router.on(RouterPath(APIRoute.ready.path), method: .get) { _, _ in
            if state.isDraining {
                throw APIError(.serviceUnavailable, code: "shutting_down", message: "the service is draining")
            }
            return try JSONBody.response(["status": "ready"])
        }
        router.on(RouterPath(APIRoute.metrics.path), method: .get) { _, _ in
            let a = engine.admission.snapshot
            let history = engine.historyWriter.statistics
            let text = engine.metrics.prometheusText(queueDepth: a.queued, running: a.running, workers: engine.admission.workers,
                                                     historyWriteFailures: history.writeFailures, historyPending: history.pending)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        let document = OpenAPIDocument.data()
        router.on(RouterPath(APIRoute.openAPI.path), method: .get) { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: document)))
        }
    }

    func addHistoryRoutes(to router: Router<CorralRequestContext>) {
        let engine = self.engine
        router.on(RouterPath(APIRoute.executions.path), method: .get) { request, _ in
            let q = request.uri.queryParameters
            var query = HistoryQuery(language: q.get("language"), status: q.get("status"))
            func int(_ name: String) throws -> Int? {
                guard let raw = q.get(name) else { return nil }
                guard let v = Int(raw) else { throw APIError(.badRequest, code: "invalid_request", message: "\(name) must be an integer, got '\(raw)'") }
                return v
            }
            func date(_ name: String) throws -> Date? {
                guard let raw = q.get(name) else { return nil }
                if let seconds = Double(raw) { return Date(timeIntervalSince1970: seconds) }
                if let d = ISO8601DateFormatter().date(from: raw) { return d }
                throw APIError(.badRequest, code: "invalid_request", message: "\(name) must be ISO 8601 or Unix seconds, got '\(raw)'")
            }
            query.limit = try int("limit") ?? 100
            query.offset = try int("offset") ?? 0
            query.since = try date("since")
            query.until = try date("until")
            let page: HistoryPage
            do throws(EngineError) { page = try await engine.history(query) } catch { throw APIError(error) }
            do {
                return try JSONBody.response(HistoryResponse(count: page.records.count, total: page.total, limit: query.limit,
                                                            offset: query.offset, executions: page.records))
            }
        }
        router.on(RouterPath(APIRoute.execution.path), method: .get) { _, context in
            let id = try context.parameters.require("id")
            let record: ExecutionRecord
            do throws(EngineError) { record = try await engine.execution(id: id) } catch { throw APIError(error) }
            return try JSONBody.response(record)
        }
    }
}

/// Seed 000's `get_execution_history` result: `count` and `executions`, plus paging.
struct HistoryResponse: Encodable {
    var count: Int
    var total: Int
    var limit: Int
    var offset: Int
    var executions: [ExecutionRecord]
}
