import CorralRuntimes
import Foundation
import Synchronization

/// Counters of the engine, rendered as Prometheus text for `/metrics` and
/// summarised for `/v1/status` and `/v1/stats`.
public final class EngineMetrics: Sendable {
    /// Upper bounds (seconds) of the duration histogram buckets.
    public static let durationBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]

    struct State {
        var executions: [Key: Int] = [:]
        var bucketCounts: [String: [Int]] = [:] // by language, cumulative at render time
        var durationSum: [String: Double] = [:]
        var durationCount: [String: Int] = [:]
        var cacheHits = 0
        var cacheMisses = 0
        var rejected = 0
        var recentDurationsMs: [Double] = [] // ring of the last 1000 for p50/p95
        var recentIndex = 0
    }
    struct Key: Hashable { var language: String; var status: String }

    let state = Mutex(State())
    public let startedAt = Date()
    /// The warm pools' state, read when metrics are rendered (set by the engine that owns them).
    let warmPools = Mutex<(@Sendable () -> [String: WarmPools.Snapshot])?>(nil)

    public init() {}

    public func recordExecution(language: String, status: String, durationMs: Double) {
        state.withLock { s in
            s.executions[Key(language: language, status: status), default: 0] += 1
            var buckets = s.bucketCounts[language] ?? [Int](repeating: 0, count: Self.durationBuckets.count)
            if let i = Self.durationBuckets.firstIndex(where: { durationMs / 1000 <= $0 }) { buckets[i] += 1 }
            s.bucketCounts[language] = buckets
            s.durationSum[language, default: 0] += durationMs / 1000
            s.durationCount[language, default: 0] += 1
            if s.recentDurationsMs.count < 1000 { s.recentDurationsMs.append(durationMs) } else {
                s.recentDurationsMs[s.recentIndex] = durationMs
                s.recentIndex = (s.recentIndex + 1) % 1000
            }
        }
    }

    public func cacheHit() { state.withLock { $0.cacheHits += 1 } }
    public func cacheMiss() { state.withLock { $0.cacheMisses += 1 } }
    public func rejectedByAdmission() { state.withLock { $0.rejected += 1 } }

    /// Totals for the status and stats reports.
    public struct Snapshot: Sendable {
        public var byStatus: [String: Int]
        public var byLanguage: [String: Int]
        public var total: Int
        public var cacheHits: Int
        public var cacheMisses: Int
        public var rejected: Int
        public var averageMs: Double
        public var p50Ms: Double
        public var p95Ms: Double
    }

    public func snapshot() -> Snapshot {
        state.withLock { s in
            var byStatus: [String: Int] = [:], byLanguage: [String: Int] = [:]
            for (key, n) in s.executions {
                byStatus[key.status, default: 0] += n
                byLanguage[key.language, default: 0] += n
            }
            let total = byStatus.values.reduce(0, +)
            let sorted = s.recentDurationsMs.sorted()
            func pct(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
            let sum = s.durationSum.values.reduce(0, +), count = s.durationCount.values.reduce(0, +)
            return Snapshot(byStatus: byStatus, byLanguage: byLanguage, total: total, cacheHits: s.cacheHits,
                            cacheMisses: s.cacheMisses, rejected: s.rejected,
                            averageMs: count == 0 ? 0 : sum / Double(count) * 1000, p50Ms: pct(0.5), p95Ms: pct(0.95))
        }
    }

    /// Prometheus text exposition format 0.0.4.
    public func prometheusText(queueDepth: Int, running: Int, workers: Int, historyWriteFailures: Int, historyPending: Int) -> String {
        state.withLock { s in
            var out = ""
            out += "# HELP corral_executions_total Executions by language and status.\n# TYPE corral_executions_total counter\n"
            for (key, n) in s.executions.sorted(by: { ($0.key.language, $0.key.status) < ($1.key.language, $1.key.status) }) {
                out += "corral_executions_total{language=\"\(Self.escape(key.language))\",status=\"\(Self.escape(key.status))\"} \(n)\n"
            }
            out += "# HELP corral_execution_duration_seconds Wall time of executions, from admission to result.\n"
            out += "# TYPE corral_execution_duration_seconds histogram\n"
            for language in s.bucketCounts.keys.sorted() {
                var cumulative = 0
                let l = Self.escape(language)
                for (i, bound) in Self.durationBuckets.enumerated() {
                    cumulative += s.bucketCounts[language]![i]
                    out += "corral_execution_duration_seconds_bucket{language=\"\(l)\",le=\"\(bound)\"} \(cumulative)\n"
                }
                out += "corral_execution_duration_seconds_bucket{language=\"\(l)\",le=\"+Inf\"} \(s.durationCount[language] ?? 0)\n"
                out += "corral_execution_duration_seconds_sum{language=\"\(l)\"} \(s.durationSum[language] ?? 0)\n"
                out += "corral_execution_duration_seconds_count{language=\"\(l)\"} \(s.durationCount[language] ?? 0)\n"
            }
            func gauge(_ name: String, _ help: String, _ value: Int) {
                out += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n\(name) \(value)\n"
            }
            func counter(_ name: String, _ help: String, _ value: Int) {
                out += "# HELP \(name) \(help)\n# TYPE \(name) counter\n\(name) \(value)\n"
            }
            gauge("corral_queue_depth", "Requests waiting for a jail.", queueDepth)
            gauge("corral_running_jails", "Requests holding one of the workers' slots now (validating, compiling or running; at most corral_workers).", running)
            gauge("corral_workers", "Jails allowed to run at once.", workers)
            counter("corral_cache_hits_total", "Result cache hits.", s.cacheHits)
            counter("corral_cache_misses_total", "Result cache misses.", s.cacheMisses)
            counter("corral_history_write_failures_total", "History writes that failed (they are retried).", historyWriteFailures)
            gauge("corral_history_pending", "History rows waiting to be retried.", historyPending)
            counter("corral_admission_rejected_total", "Requests refused because the queue was full.", s.rejected)
            out += "# HELP corral_uptime_seconds Seconds since the engine started.\n# TYPE corral_uptime_seconds gauge\n"
            out += "corral_uptime_seconds \(Date().timeIntervalSince(startedAt))\n"
            return out
        } + Self.warmPoolText(warmPools.withLock { $0 }?() ?? [:])
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}
