import CorralSandbox
import CorralStore
import Foundation

/// Seed 003 `get_executor_stats`: totals, rates, timing, cache, admission, history.
public struct StatsReport: Sendable, Encodable {
    /// Wall time of executions since the service started, in milliseconds.
    public struct Timing: Sendable, Encodable {
        var averageMs, p50Ms, p95Ms: Double
        enum CodingKeys: String, CodingKey, CaseIterable { case averageMs = "average_ms", p50Ms = "p50_ms", p95Ms = "p95_ms" }
    }
    /// The result cache since the service started.
    public struct CacheStatistics: Sendable, Encodable {
        var hits, misses: Int
        var hitRate: Double
        enum CodingKeys: String, CodingKey, CaseIterable { case hits, misses, hitRate = "hit_rate" }
    }
    /// The admission queue now, and the requests it refused since the service started.
    public struct Admission: Sendable, Encodable {
        var workers, running, queued, queueCapacity, rejected: Int
        enum CodingKeys: String, CodingKey, CaseIterable { case workers, running, queued, rejected, queueCapacity = "queue_capacity" }
    }

    var status = ReportStatus.success
    var totalExecutions: Int
    var successRate: Double
    var byStatus: [String: Int]
    var byLanguage: [String: Int]
    var timing: Timing
    var cache: CacheStatistics
    var admission: Admission
    var historyWriteFailures: Int
    var history: HistorySummary?
    var recentExecutions: [ExecutionRecord]?
    var codingMetrics: StatusReport.CodingMetrics

    enum CodingKeys: String, CodingKey, CaseIterable {
        case status, timing, cache, admission, history
        case totalExecutions = "total_executions", successRate = "success_rate"
        case byStatus = "by_status", byLanguage = "by_language"
        case historyWriteFailures = "history_write_failures", recentExecutions = "recent_executions"
        case codingMetrics = "coding_metrics"
    }
}

extension Engine {
    /// `recent_executions` are the caller's own (all of them for a context without a caller: the CLI, no keys).
    public func stats(includeHistory: Bool = false, context: ExecutionContext = ExecutionContext()) async -> StatsReport {
        let s = metrics.snapshot()
        let a = admission.snapshot
        let lookups = s.cacheHits + s.cacheMisses
        let successes = s.byStatus[RunStatus.success.rawValue] ?? 0
        return StatsReport(
            totalExecutions: s.total,
            successRate: s.total == 0 ? 0 : Double(successes) / Double(s.total),
            byStatus: s.byStatus, byLanguage: s.byLanguage,
            timing: .init(averageMs: s.averageMs, p50Ms: s.p50Ms, p95Ms: s.p95Ms),
            cache: .init(hits: s.cacheHits, misses: s.cacheMisses, hitRate: lookups == 0 ? 0 : Double(s.cacheHits) / Double(lookups)),
            admission: .init(workers: admission.workers, running: a.running, queued: a.queued,
                             queueCapacity: admission.capacity, rejected: a.rejected),
            historyWriteFailures: historyWriter.statistics.writeFailures,
            // The report is about this process; history that cannot be read is left out, not an error.
            history: try? await history.summary(),
            recentExecutions: includeHistory ? (try? await history.query(Self.scoped(HistoryQuery(limit: 20), context)))?.records : nil,
            codingMetrics: codingMetrics)
    }

    /// Seed 000 `get_execution_history`. An empty time range (`since` after `until`) matches nothing.
    /// A caller sees only its own executions (an API key's name); a context without one sees all.
    public func history(_ query: HistoryQuery, context: ExecutionContext = ExecutionContext()) async throws(EngineError) -> HistoryPage {
        let query = Self.scoped(query, context)
        try RequestResolver.checkPage(query)
        // `since` after `until` is a valid query (the schema cannot forbid it) that matches nothing.
        if let since = query.since, let until = query.until, since > until { return HistoryPage(records: [], total: 0) }
        do { return try await history.query(query) } catch {
            throw EngineError(.internalError, "cannot read history: \(error)")
        }
    }

    /// One execution of the caller's (another caller's is a 404, as one that does not exist).
    public func execution(id: String, context: ExecutionContext = ExecutionContext()) async throws(EngineError) -> ExecutionRecord {
        let record: ExecutionRecord?
        do { record = try await history.execution(id: id) } catch {
            throw EngineError(.internalError, "cannot read history: \(error)")
        }
        guard let record, context.caller == nil || record.caller == context.caller else {
            throw EngineError(.notFound, "no execution with id '\(id)'")
        }
        return record
    }

    /// `query` narrowed to the context's caller, when it has one.
    static func scoped(_ query: HistoryQuery, _ context: ExecutionContext) -> HistoryQuery {
        var query = query
        if let caller = context.caller { query.caller = caller }
        return query
    }
}
