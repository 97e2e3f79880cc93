import CorralSandbox
import CorralStore
import Foundation

/// Seed 000's status object: id, state, uptime, connections, metrics, coding_metrics.
public struct StatusReport: Sendable, Encodable {
    /// A backend the service depends on.
    public struct Connection: Sendable, Encodable {
        public enum State: String, Sendable, Encodable, CaseIterable {
            case connected, error
            /// Configured, and down now (being retried).
            case disconnected
            /// This instance runs without it (no `--nats-url`, `--postgres-url`, `--redis-url`).
            case notConfigured = "not_configured"
        }
        /// Seed 000's circuit breaker states; `none` where no breaker guards the connection.
        public enum Breaker: String, Sendable, Encodable, CaseIterable { case closed, open, halfOpen = "half_open", none }
        public var state: State
        /// What serves it (`SQLiteHistoryStore`, `nats://127.0.0.1:4222`).
        public var backend: String
        public var circuitBreaker: Breaker
        public init(state: State, backend: String, circuitBreaker: Breaker = .none) {
            self.state = state
            self.backend = backend
            self.circuitBreaker = circuitBreaker
        }
        /// A connection guarded by `breaker`: up while `reachable` and the breaker lets calls through.
        public init(guardedBy breaker: CircuitBreaker, reachable: Bool, backend: String) {
            let state: Breaker = switch breaker.state {
            case .closed: .closed
            case .open: .open
            case .halfOpen: .halfOpen
            }
            self.init(state: reachable && state != .open ? .connected : .disconnected, backend: backend, circuitBreaker: state)
        }
        enum CodingKeys: String, CodingKey, CaseIterable { case state, backend, circuitBreaker = "circuit_breaker" }
    }
    /// The stores every instance has (history, cache) and the fleet's servers (seed 000's
    /// `connections.nats/postgres/redis.state`).
    public struct Connections: Sendable, Encodable {
        var history: Connection
        var cache: Connection
        var nats: Connection
        var postgres: Connection
        var redis: Connection
        enum CodingKeys: String, CodingKey, CaseIterable { case history, cache, nats, postgres, redis }
    }
    public struct TaskMetrics: Sendable, Encodable {
        var tasksCompleted: Int, tasksFailed: Int, avgProcessingTimeMs: Double
        enum CodingKeys: String, CodingKey, CaseIterable {
            case tasksCompleted = "tasks_completed", tasksFailed = "tasks_failed", avgProcessingTimeMs = "avg_processing_time_ms"
        }
    }
    public struct CodingMetrics: Sendable, Encodable {
        var totalExecutions, successfulExecutions, failedExecutions, timeoutExecutions, securityViolations: Int
        var cacheHits, cacheMisses: Int
        var languageBreakdown: [String: Int]
        enum CodingKeys: String, CodingKey, CaseIterable {
            case totalExecutions = "total_executions", successfulExecutions = "successful_executions"
            case failedExecutions = "failed_executions", timeoutExecutions = "timeout_executions"
            case securityViolations = "security_violations", cacheHits = "cache_hits", cacheMisses = "cache_misses"
            case languageBreakdown = "language_breakdown"
        }
    }
    var agentId: String
    var state: ServiceState
    var uptimeSeconds: Double
    var connections: Connections
    var metrics: TaskMetrics
    var codingMetrics: CodingMetrics
    /// Warm pools by language (empty when the service keeps none).
    var warmPools: [String: WarmPoolStatus]

    enum CodingKeys: String, CodingKey, CaseIterable {
        case state, connections, metrics
        case agentId = "agent_id", uptimeSeconds = "uptime_seconds", codingMetrics = "coding_metrics"
        case warmPools = "warm_pools"
    }
}

extension Engine {
    var codingMetrics: StatusReport.CodingMetrics {
        let s = metrics.snapshot()
        func count(_ status: RunStatus) -> Int { s.byStatus[status.rawValue] ?? 0 }
        return .init(totalExecutions: s.total, successfulExecutions: count(.success),
                     failedExecutions: s.total - count(.success) - count(.timeout) - count(.securityViolation),
                     timeoutExecutions: count(.timeout), securityViolations: count(.securityViolation),
                     cacheHits: s.cacheHits, cacheMisses: s.cacheMisses, languageBreakdown: s.byLanguage)
    }

    public func status(state: ServiceState = .running) async -> StatusReport {
        let s = metrics.snapshot()
        // A probe, not a safety path: a history that cannot be read is reported as `error`.
        let historyState: StatusReport.Connection.State = (try? await history.query(HistoryQuery(limit: 1))) != nil ? .connected : .error
        return StatusReport(
            agentId: configuration.instanceID, state: state, uptimeSeconds: Date().timeIntervalSince(metrics.startedAt),
            connections: .init(history: .init(state: historyState, backend: String(describing: type(of: history))),
                               cache: connections.state(of: "redis").state == .notConfigured
                                   ? .init(state: .connected, backend: String(describing: type(of: cache)))
                                   : connections.state(of: "redis"),
                               nats: connections.state(of: "nats"), postgres: connections.state(of: "postgres"),
                               redis: connections.state(of: "redis")),
            metrics: .init(tasksCompleted: s.total, tasksFailed: count(of: .internalError, in: s.byStatus) + s.rejected,
                           avgProcessingTimeMs: s.averageMs),
            codingMetrics: codingMetrics,
            warmPools: (runtime.warmPools?.snapshot() ?? [:]).mapValues(WarmPoolStatus.init))
    }

    private func count(of status: RunStatus, in byStatus: [String: Int]) -> Int { byStatus[status.rawValue] ?? 0 }
}
