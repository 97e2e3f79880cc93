import CorralStore
import Foundation

/// Seed 003 `get_executor_stats`: totals, rates, timing, cache, admission, history.
public struct StatsReport: Sendable, Encodable {
    var status = "success"
    var totalExecutions: Int
    var successRate: Double
    var byStatus: [String: Int]
    var byLanguage: [String: Int]
    var timing: [String: Double]
    var cache: [String: Double]
    var admission: [String: Int]
    var historyWriteFailures: Int
    var history: HistorySummary?
    var recentExecutions: [ExecutionRecord]?
    var codingMetrics: StatusReport.CodingMetrics

    enum CodingKeys: String, CodingKey {
        case status, timing, cache, admission, history
        case totalExecutions = "total_executions", successRate = "success_rate"
        case byStatus = "by_status", byLanguage = "by_language"
        case historyWriteFailures = "history_write_failures", recentExecutions = "recent_executions"
        case codingMetrics = "coding_metrics"
    }
}

extension Engine {
    public func stats(includeHistory: Bool = false) async -> StatsReport {
        let s = metrics.snapshot()
        let a = admission.snapshot
        let lookups = s.cacheHits + s.cacheMisses
        return StatsReport(
            totalExecutions: s.total,
            successRate: s.total == 0 ? 0 : Double(s.byStatus["success"] ?? 0) / Double(s.total),
            byStatus: s.byStatus, byLanguage: s.byLanguage,
            timing: ["average_ms": s.averageMs, "p50_ms": s.p50Ms, "p95_ms": s.p95Ms],
            cache: ["hits": Double(s.cacheHits), "misses": Double(s.cacheMisses),
                    "hit_rate": lookups == 0 ? 0 : Double(s.cacheHits) / Double(lookups)],
            admission: ["workers": admission.workers, "running": a.running, "queued": a.queued,
                        "queue_capacity": admission.capacity, "rejected": a.rejected],
            historyWriteFailures: historyWriter.statistics.writeFailures,
            history: try? await history.summary(),
            recentExecutions: includeHistory ? (try? await history.query(HistoryQuery(limit: 20)))?.records : nil,
            codingMetrics: codingMetrics)
    }

    /// Seed 000 `get_execution_history`.
    public func history(_ query: HistoryQuery) async throws(EngineError) -> HistoryPage {
        try RequestResolver.checkPage(query)
        do { return try await history.query(query) } catch {
            throw EngineError(.internalError, "cannot read history: \(error)")
        }
    }

    public func execution(id: String) async throws(EngineError) -> ExecutionRecord {
        let record: ExecutionRecord?
        do { record = try await history.execution(id: id) } catch {
            throw EngineError(.internalError, "cannot read history: \(error)")
        }
        guard let record else { throw EngineError(.notFound, "no execution with id '\(id)'") }
        return record
    }
}
