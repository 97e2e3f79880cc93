import Foundation

/// Seed 000's retry settings, with its names and defaults: the wait before retry `n` (0-based) is
/// `retry_base_delay_seconds × 2ⁿ`, capped at `retry_max_delay_seconds`, with ±25% jitter so that
/// instances that failed together do not retry together; `max_retry_attempts` bounds the tries of
/// one operation where a caller waits on it.
public struct RetryPolicy: Sendable, Equatable {
    /// `max_retry_attempts`.
    public var maxAttempts = 3
    /// `retry_base_delay_seconds`.
    public var baseDelaySeconds: Double = 1.0
    /// `retry_max_delay_seconds`.
    public var maxDelaySeconds: Double = 60

    public init() {}

    /// Seconds to wait before retry `attempt` (0 is the first retry).
    public func delay(attempt: Int, jitter: Double = Double.random(in: 0.75...1.25)) -> Double {
        let exponent = Double(min(max(attempt, 0), 62))
        return min(maxDelaySeconds, baseDelaySeconds * pow(2, exponent)) * jitter
    }

    /// Throws a message naming the setting when a value cannot work.
    public func validate() throws(HistoryStoreError) {
        guard (1...100).contains(maxAttempts), baseDelaySeconds.isFinite, baseDelaySeconds > 0, baseDelaySeconds <= 3600,
              maxDelaySeconds.isFinite, maxDelaySeconds >= baseDelaySeconds, maxDelaySeconds <= 86_400 else {
            throw HistoryStoreError(code: .storageFailed, operation: "configure",
                                    reason: "max_retry_attempts is 1 to 100, retry_base_delay_seconds 0 to 3600 and retry_max_delay_seconds from the base delay to 86400")
        }
    }
}
