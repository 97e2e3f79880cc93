import Foundation
import GRDB

extension SQLiteHistoryStore: TaskStore {
    public func saveTask(_ row: TaskRow) async throws {
        do {
            try await writing { db in
                try db.cachedStatement(sql: """
                    INSERT INTO tasks (task_id, owner, status, created_at, document) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(task_id) DO UPDATE SET owner = excluded.owner, status = excluded.status,
                        created_at = excluded.created_at, document = excluded.document
                    """).execute(arguments: [row.taskID, row.owner, row.status, row.createdAtMs, row.document])
            }
        } catch {
            throw Self.storeError(error, operation: "save task \(row.taskID)", path: path)
        }
    }

    public func task(id: String) async throws -> TaskRow? {
        do {
            return try await reading { db in
                try Row.fetchOne(db, sql: "SELECT * FROM tasks WHERE task_id = ?", arguments: [id]).map(TaskRow.init(row:))
            }
        } catch {
            throw Self.storeError(error, operation: "read task \(id)", path: path)
        }
    }

    public func tasks(_ query: TaskQuery) async throws -> (rows: [TaskRow], total: Int) {
        var filter = "owner = ?"
        var arguments: StatementArguments = [query.owner]
        if let status = query.status { filter += " AND status = ?"; arguments += [status] }
        let where_ = filter, args = arguments
        do {
            return try await reading { db in
                let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM tasks WHERE \(where_)", arguments: args) ?? 0
                // Sizes first, then the documents of the rows that fit: a page never reads more than its budget.
                let sizes = try Row.fetchAll(db, sql: "SELECT task_id, length(document) AS size FROM tasks WHERE \(where_) ORDER BY created_at DESC, seq DESC LIMIT ? OFFSET ?",
                                             arguments: args + [query.limit, query.offset])
                var rows: [TaskRow] = []
                var bytes = 0
                for size in sizes {
                    let n: Int = size["size"] ?? 0
                    if let maxBytes = query.maxBytes, !rows.isEmpty, bytes + n > maxBytes { break }
                    bytes += n
                    if let row = try Row.fetchOne(db, sql: "SELECT * FROM tasks WHERE task_id = ?", arguments: [size["task_id"] as String? ?? ""]) {
                        rows.append(TaskRow(row: row))
                    }
                }
                return (rows, total)
            }
        } catch {
            throw Self.storeError(error, operation: "list tasks", path: path)
        }
    }

    public func unfinishedTasks() async throws -> [TaskRow] {
        do {
            return try await reading { db in
                try Row.fetchAll(db, sql: "SELECT * FROM tasks WHERE status IN ('scheduled', 'running') ORDER BY seq").map(TaskRow.init(row:))
            }
        } catch {
            throw Self.storeError(error, operation: "list unfinished tasks", path: path)
        }
    }

    public func pruneTasks(beforeMs: Int64?, keep: Int?) async throws -> [String] {
        do {
            return try await writing { db in
                var ids: [String] = []
                let finished = "status IN ('completed', 'failed', 'cancelled')"
                if let beforeMs {
                    ids += try String.fetchAll(db, sql: "SELECT task_id FROM tasks WHERE \(finished) AND created_at < ?", arguments: [beforeMs])
                }
                if let keep {
                    ids += try String.fetchAll(db, sql: "SELECT task_id FROM tasks WHERE \(finished) ORDER BY created_at DESC, seq DESC LIMIT -1 OFFSET ?",
                                               arguments: [max(0, keep)])
                }
                let unique = Array(Set(ids)).sorted()
                for id in unique { try db.execute(sql: "DELETE FROM tasks WHERE task_id = ?", arguments: [id]) }
                return unique
            }
        } catch {
            throw Self.storeError(error, operation: "prune tasks", path: path)
        }
    }
}

extension TaskRow {
    init(row: Row) {
        self.init(taskID: row["task_id"], owner: row["owner"], status: row["status"], createdAtMs: row["created_at"],
                  document: row["document"])
    }
}
