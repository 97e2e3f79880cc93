import Foundation

/// A query checked and clamped, shared by every store so that they agree.
package struct ValidatedHistoryQuery: Sendable {
    package var language: String?
    package var status: String?
    package var sinceMs: Int64?
    package var untilMs: Int64?
    /// Clamped to `HistoryQuery.maxLimit`.
    package var limit: Int
    package var offset: Int
    /// Only this caller's rows; nil: every caller's.
    package var caller: String? = nil

    /// Whether `record` (with its stored timestamp `createdAtMs`) passes the filters.
    package func matches(_ record: ExecutionRecord, createdAtMs: Int64) -> Bool {
        if let language, record.language != language { return false }
        if let status, record.status != status { return false }
        if let sinceMs, createdAtMs < sinceMs { return false }
        if let untilMs, createdAtMs >= untilMs { return false }
        if let caller, record.caller != caller { return false }
        return true
    }
}

extension HistoryQuery {
    /// Rejects a negative limit or offset and an inverted time range; clamps
    /// the limit to `maxLimit` (a large page is a request for "as many as
    /// allowed", not an error).
    package func validated() throws(HistoryStoreError) -> ValidatedHistoryQuery {
        guard limit >= 0 else { throw .invalidQuery("limit must be at least 0, got \(limit)") }
        guard offset >= 0 else { throw .invalidQuery("offset must be at least 0, got \(offset)") }
        let sinceMs = since.map(HistoryTimestamp.milliseconds(of:))
        let untilMs = until.map(HistoryTimestamp.milliseconds(of:))
        if let sinceMs, let untilMs, sinceMs > untilMs {
            throw .invalidQuery("since (\(since!)) is later than until (\(until!))")
        }
        return ValidatedHistoryQuery(language: language, status: status, sinceMs: sinceMs, untilMs: untilMs,
                                     limit: min(limit, Self.maxLimit), offset: offset, caller: caller)
    }
}

extension RetentionPolicy {
    /// The oldest creation time kept, in stored milliseconds; nil keeps any age.
    package func cutoffMs(now: Date) throws(HistoryStoreError) -> Int64? {
        if let maxRows, maxRows < 0 { throw .invalidRetention("maxRows must be at least 0, got \(maxRows)") }
        guard let maxAgeDays else { return nil }
        guard maxAgeDays.isFinite, maxAgeDays >= 0 else {
            throw .invalidRetention("maxAgeDays must be a finite number at least 0, got \(maxAgeDays)")
        }
        return HistoryTimestamp.milliseconds(of: now.addingTimeInterval(-maxAgeDays * 86_400))
    }
}

/// History keeps creation times as whole milliseconds since the Unix epoch:
/// an integer orders and indexes exactly, reads plainly in `sqlite3`
/// (`datetime(created_at / 1000, 'unixepoch')`), and maps onto PostgreSQL
/// later. Every store rounds the same way so they answer the same queries.
package enum HistoryTimestamp {
    package static func milliseconds(of date: Date) -> Int64 {
        let ms = (date.timeIntervalSince1970 * 1000).rounded()
        // Dates beyond ±292 million years do not fit; clamp rather than trap.
        return ms >= 9.2e18 ? .max : ms <= -9.2e18 ? .min : Int64(ms)
    }

    package static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// `date` as a store returns it: rounded to the millisecond.
    package static func stored(_ date: Date) -> Date { self.date(milliseconds: milliseconds(of: date)) }
}
