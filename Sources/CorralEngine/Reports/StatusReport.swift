import CorralStore
import Foundation

/// Seed 000's status object: id, state, uptime, connections, metrics, coding_metrics.
public struct StatusReport: Sendable, Encodable {
    public struct Connection: Sendable, Encodable { var state: String; var backend: String }
    public struct TaskMetrics: Sendable, Encodable {
        var tasksCompleted: Int, tasksFailed: Int, avgProcessingTimeMs: Double
        enum CodingKeys: String, CodingKey {
            case tasksCompleted = "tasks_completed", tasksFailed = "tasks_failed", avgProcessingTimeMs = "avg_processing_time_ms"
        }
    }
    public struct CodingMetrics: Sendable, Encodable {
        var totalExecutions, successfulExecutions, failedExecutions, timeoutExecutions, securityViolations: Int
        var cacheHits, cacheMisses: Int
        var languageBreakdown: [String: Int]
        enum CodingKeys: String, CodingKey {
            case totalExecutions = "total_executions", successfulExecutions = "successful_executions"
            case failedExecutions = "failed_executions", timeoutExecutions = "timeout_executions"
            case securityViolations = "security_violations", cacheHits = "cache_hits", cacheMisses = "cache_misses"
            case languageBreakdown = "language_breakdown"
        }
    }
    var agentId: String
    var state: String
    var uptimeSeconds: Double
    var connections: [String: Connection]
    var metrics: TaskMetrics
    var codingMetrics: CodingMetrics

    enum CodingKeys: String, CodingKey {
        case state, connections, metrics
        case agentId = "agent_id", uptimeSeconds = "uptime_seconds", codingMetrics = "coding_metrics"
    }
}

extension Engine {
    var codingMetrics: StatusReport.CodingMetrics {
        let s = metrics.snapshot()
        return .init(totalExecutions: s.total, successfulExecutions: s.byStatus["success"] ?? 0,
                     failedExecutions: s.total - (s.byStatus["success"] ?? 0) - (s.byStatus["timeout"] ?? 0) - (s.byStatus["security_violation"] ?? 0),
                     timeoutExecutions: s.byStatus["timeout"] ?? 0, securityViolations: s.byStatus["security_violation"] ?? 0,
                     cacheHits: s.cacheHits, cacheMisses: s.cacheMisses, languageBreakdown: s.byLanguage)
    }

    public func status(state: String = "running") async -> StatusReport {
        let s = metrics.snapshot()
        let historyState = (try? await history.query(HistoryQuery(limit: 1))) != nil ? "connected" : "error"
        return StatusReport(
            agentId: configuration.instanceID, state: state, uptimeSeconds: Date().timeIntervalSince(metrics.startedAt),
            connections: ["history": .init(state: historyState, backend: String(describing: type(of: history))),
                          "cache": .init(state: "connected", backend: String(describing: type(of: cache)))],
            metrics: .init(tasksCompleted: s.total, tasksFailed: (s.byStatus["internal_error"] ?? 0) + s.rejected,
                           avgProcessingTimeMs: s.averageMs),
            codingMetrics: codingMetrics)
    }
}
