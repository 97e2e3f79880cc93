import Foundation
import GRDB

extension SQLiteHistoryStore {
    /// Rows deleted per write transaction: a prune of a million rows must not
    /// hold the single writer (and so every `record`) for seconds.
    static let pruneBatchSize = 5_000

    public func prune(_ policy: RetentionPolicy) async throws -> Int {
        try await prune(policy, now: Date())
    }

    /// `prune(_:)` as of `now` (tests, and callers that prune on a schedule).
    public func prune(_ policy: RetentionPolicy, now: Date) async throws -> Int {
        let cutoff = try policy.cutoffMs(now: now)
        do {
            var deleted = 0
            if let cutoff {
                deleted += try await deleteInBatches(where: "created_at < ?", arguments: [cutoff])
            }
            if let maxRows = policy.maxRows, let newestPruned = try await newestRow(after: maxRows) {
                deleted += try await deleteInBatches(
                    where: "created_at < ? OR (created_at = ? AND seq <= ?)",
                    arguments: [newestPruned.createdAt, newestPruned.createdAt, newestPruned.seq])
            }
            return deleted
        } catch {
            throw Self.storeError(error, operation: "prune", path: path)
        }
    }

    /// The newest row beyond the newest `count` (the first one to prune), if any.
    private func newestRow(after count: Int) async throws -> (createdAt: Int64, seq: Int64)? {
        try await reading { db in
            try Row.fetchOne(db, sql: "SELECT created_at, seq FROM executions ORDER BY created_at DESC, seq DESC LIMIT 1 OFFSET ?",
                             arguments: [count])
                .map { ($0["created_at"], $0["seq"]) }
        }
    }

    private func deleteInBatches(where condition: String, arguments: StatementArguments) async throws -> Int {
        let sql = "DELETE FROM executions WHERE seq IN (SELECT seq FROM executions WHERE \(condition) LIMIT \(Self.pruneBatchSize))"
        var deleted = 0
        while true {
            let batch = try await writing { db in
                try db.execute(sql: sql, arguments: arguments)
                return db.changesCount
            }
            deleted += batch
            if batch < Self.pruneBatchSize { return deleted }
        }
    }
}
