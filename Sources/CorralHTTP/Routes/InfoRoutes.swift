import CorralEngine
import CorralStore
import Foundation
import Hummingbird

extension CorralServer {
    func addInfoRoutes(to router: Router<CorralRequestContext>) {
        let engine = self.engine, state = self.state
        router.on(RouterPath(APIRoute.languages.path), method: APIRoute.languages.method) { _, _ in
            try JSONBody.response(await engine.languages())
        }
        router.on(RouterPath(APIRoute.limits.path), method: APIRoute.limits.method) { _, _ in try JSONBody.response(engine.limits()) }
        router.on(RouterPath(APIRoute.stats.path), method: APIRoute.stats.method) { request, context in
            let include = try QueryValues(request).boolean(.includeHistory) ?? false
            let ctx = ExecutionContext(caller: context.caller, requestID: context.requestID)
            return try JSONBody.response(await engine.stats(includeHistory: include, context: ctx))
        }
        router.on(RouterPath(APIRoute.status.path), method: APIRoute.status.method) { _, _ in
            try JSONBody.response(await engine.status(state: state.serviceState))
        }
        router.on(RouterPath(APIRoute.health.path), method: APIRoute.health.method) { _, _ in
            try JSONBody.response(HealthReport(status: .ok))
        }
        router.on(RouterPath(APIRoute.ready.path), method: APIRoute.ready.method) { _, _ in
            if state.isDraining { throw APIError(.shuttingDown, "the service is draining; send work to another instance") }
            return try JSONBody.response(HealthReport(status: .ready))
        }
        router.on(RouterPath(APIRoute.metrics.path), method: APIRoute.metrics.method) { _, _ in
            let a = engine.admission.snapshot
            let history = engine.historyWriter.statistics
            let text = engine.metrics.prometheusText(queueDepth: a.queued, running: a.running, workers: engine.admission.workers,
                                                     historyWriteFailures: history.writeFailures, historyPending: history.pending)
                + engine.connections.prometheusText() + Self.spillMetrics(engine.history)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        let document = openAPIDocument().data
        router.on(RouterPath(APIRoute.openAPI.path), method: APIRoute.openAPI.method) { _, _ in
            Response(status: .ok, headers: [.contentType: JSONBody.mediaType], body: .init(byteBuffer: ByteBuffer(bytes: document)))
        }
    }

    /// The PostgreSQL spill file's figures, when history goes through one.
    static func spillMetrics(_ history: any HistoryStore) -> String {
        guard let spill = history as? SpillingHistoryStore else { return "" }
        var text = "# HELP corral_history_spilled History records waiting in the spill file for PostgreSQL.\n"
        text += "# TYPE corral_history_spilled gauge\ncorral_history_spilled \(spill.spilledCount)\n"
        text += "# HELP corral_history_spill_dropped_total Records dropped because the spill file was full.\n"
        text += "# TYPE corral_history_spill_dropped_total counter\ncorral_history_spill_dropped_total \(spill.droppedCount)\n"
        return text
    }

    func addHistoryRoutes(to router: Router<CorralRequestContext>) {
        let engine = self.engine
        router.on(RouterPath(APIRoute.executions.path), method: APIRoute.executions.method) { request, context in
            let q = QueryValues(request)
            var query = HistoryQuery(language: q.raw(.language), status: try q.status(.status)?.rawValue)
            query.limit = try q.integer(.limit) ?? 100
            query.offset = try q.integer(.offset) ?? 0
            query.since = try q.time(.since)
            query.until = try q.time(.until)
            let page: HistoryPage
            let ctx = ExecutionContext(caller: context.caller, requestID: context.requestID)
            do throws(EngineError) { page = try await engine.history(query, context: ctx) } catch { throw APIError(error) }
            return try JSONBody.response(HistoryResponse(count: page.records.count, total: page.total, limit: query.limit,
                                                        offset: query.offset, executions: page.records))
        }
        router.on(RouterPath(APIRoute.execution.path), method: APIRoute.execution.method) { _, context in
            let id = try context.parameters.require("id")
            let record: ExecutionRecord
            let ctx = ExecutionContext(caller: context.caller, requestID: context.requestID)
            do throws(EngineError) { record = try await engine.execution(id: id, context: ctx) } catch { throw APIError(error) }
            return try JSONBody.response(record)
        }
    }
}
