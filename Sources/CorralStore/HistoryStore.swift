/// Where executions are recorded. SQLite is the embedded default; PostgreSQL
/// can implement the same protocol later.
public protocol HistoryStore: Sendable {
    /// Stores one record durably: once this returns, a crash of the process loses it not.
    func record(_ record: ExecutionRecord) async throws
    func query(_ query: HistoryQuery) async throws -> HistoryPage
    func execution(id: String) async throws -> ExecutionRecord?
    /// Deletes what `policy` no longer keeps; returns the number of rows deleted.
    func prune(_ policy: RetentionPolicy) async throws -> Int
    /// Counts over all history, for `corral stats` and `/v1/stats`.
    func summary() async throws -> HistorySummary
}

/// Aggregates over the whole history.
public struct HistorySummary: Sendable, Codable, Equatable {
    public var total: Int
    public var byStatus: [String: Int]
    public var byLanguage: [String: Int]
    public var cached: Int
    public var averageExecutionTimeMs: Double

    public init(total: Int = 0, byStatus: [String: Int] = [:], byLanguage: [String: Int] = [:], cached: Int = 0,
                averageExecutionTimeMs: Double = 0) {
        self.total = total; self.byStatus = byStatus; self.byLanguage = byLanguage; self.cached = cached
        self.averageExecutionTimeMs = averageExecutionTimeMs
    }

    enum CodingKeys: String, CodingKey {
        case total, cached
        case byStatus = "by_status"
        case byLanguage = "by_language"
        case averageExecutionTimeMs = "average_execution_time_ms"
    }
}
