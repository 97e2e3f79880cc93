import Foundation

/// Execution history kept in memory (`--history memory`): nothing survives
/// the process, everything else answers as `SQLiteHistoryStore` does —
/// the same filters, order (newest first, then last recorded first), page
/// clamping, errors, millisecond timestamps, and replace-by-id on re-record.
///
/// Bounded by `maxRows`: past it, the oldest rows are dropped on insert (a
/// sixty-fourth of `maxRows` at a time, so the cost is amortized), so a
/// long-running server without a prune schedule cannot grow without limit.
public actor InMemoryHistoryStore: HistoryStore {
    private struct Key: Comparable, Hashable {
        var createdAtMs: Int64
        var seq: Int
        static func < (a: Key, b: Key) -> Bool { (a.createdAtMs, a.seq) < (b.createdAtMs, b.seq) }
    }
    private struct Entry {
        var key: Key
        var record: ExecutionRecord
    }

    /// Oldest first, ordered by `Key`; new rows are almost always appended.
    private var entries: [Entry] = []
    private var keyById: [String: Key] = [:]
    private var nextSeq = 0

    /// The most rows kept.
    public let maxRows: Int

    public init(maxRows: Int = 100_000) {
        self.maxRows = max(maxRows, 1)
    }

    public func record(_ record: ExecutionRecord) async throws {
        var record = record
        let createdAtMs = HistoryTimestamp.milliseconds(of: record.createdAt)
        record.createdAt = HistoryTimestamp.date(milliseconds: createdAtMs)
        var key = Key(createdAtMs: createdAtMs, seq: nextSeq)
        if let old = keyById[record.executionId] {
            // Replace in place, keeping the insertion rank as SQLite's upsert keeps the rowid.
            entries.remove(at: position(of: old))
            key.seq = old.seq
        } else {
            nextSeq += 1
        }
        keyById[record.executionId] = key
        entries.insert(Entry(key: key, record: record), at: insertionPoint(of: key))
        if entries.count > maxRows { dropOldest(entries.count - maxRows + (maxRows - 1) / 64) }
    }

    public func query(_ query: HistoryQuery) async throws -> HistoryPage {
        let valid = try query.validated()
        var total = 0
        var page: [ExecutionRecord] = []
        for entry in entries.reversed() where valid.matches(entry.record, createdAtMs: entry.key.createdAtMs) {
            if total >= valid.offset, page.count < valid.limit { page.append(entry.record) }
            total += 1
        }
        return HistoryPage(records: page, total: total)
    }

    public func execution(id: String) async throws -> ExecutionRecord? {
        keyById[id].map { entries[position(of: $0)].record }
    }

    public func prune(_ policy: RetentionPolicy) async throws -> Int {
        try prune(policy, now: Date())
    }

    /// `prune(_:)` as of `now`.
    public func prune(_ policy: RetentionPolicy, now: Date) throws -> Int {
        let cutoff = try policy.cutoffMs(now: now)
        var count = 0
        if let cutoff { count += insertionPoint(of: Key(createdAtMs: cutoff, seq: .min)) }
        if let maxRows = policy.maxRows { count = max(count, entries.count - maxRows) }
        dropOldest(count)
        return count
    }

    public func summary() async throws -> HistorySummary {
        var summary = HistorySummary(total: entries.count)
        var totalTime = 0.0
        for entry in entries {
            summary.byStatus[entry.record.status, default: 0] += 1
            summary.byLanguage[entry.record.language, default: 0] += 1
            if entry.record.cached { summary.cached += 1 }
            totalTime += entry.record.executionTimeMs
        }
        summary.averageExecutionTimeMs = entries.isEmpty ? 0 : totalTime / Double(entries.count)
        return summary
    }

    private func dropOldest(_ count: Int) {
        let count = min(count, entries.count)
        guard count > 0 else { return }
        for entry in entries[..<count] { keyById[entry.record.executionId] = nil }
        entries.removeFirst(count)
    }

    /// The first index whose key is not less than `key`.
    private func insertionPoint(of key: Key) -> Int {
        if entries.last.map({ $0.key < key }) ?? true { return entries.count }
        var low = 0, high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].key < key { low = mid + 1 } else { high = mid }
        }
        return low
    }

    private func position(of key: Key) -> Int { insertionPoint(of: key) }
}
