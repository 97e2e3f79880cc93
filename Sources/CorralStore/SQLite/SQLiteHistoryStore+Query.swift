import Foundation
import GRDB

extension SQLiteHistoryStore {
    /// Rows matching the filters, newest first; the count and the page come
    /// from one read transaction, so they agree with each other.
    public func query(_ query: HistoryQuery) async throws -> HistoryPage {
        let valid = try query.validated()
        let (whereSQL, arguments) = Self.whereClause(valid)
        do {
            return try await reading { db in
                let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM executions\(whereSQL)", arguments: arguments) ?? 0
                let rows = try Row.fetchAll(
                    db, sql: "SELECT * FROM executions\(whereSQL) ORDER BY created_at DESC, seq DESC LIMIT ? OFFSET ?",
                    arguments: arguments + [valid.limit, valid.offset])
                return HistoryPage(records: rows.map(ExecutionRecord.init(row:)), total: total)
            }
        } catch {
            throw Self.storeError(error, operation: "query", path: path)
        }
    }

    /// Totals over all rows. The average execution time includes cached rows
    /// (they carry the time of the run they repeat).
    public func summary() async throws -> HistorySummary {
        do {
            return try await reading { db in
                let totals = try Row.fetchOne(db, sql: """
                    SELECT COUNT(*) AS total, COALESCE(SUM(cached), 0) AS cached,
                           COALESCE(AVG(execution_time_ms), 0) AS average FROM executions
                    """)
                func counts(by column: String) throws -> [String: Int] {
                    let rows = try Row.fetchAll(db, sql: "SELECT \(column) AS key, COUNT(*) AS n FROM executions GROUP BY \(column)")
                    return Dictionary(uniqueKeysWithValues: rows.map { ($0["key"] as String, $0["n"] as Int) })
                }
                return HistorySummary(total: totals?["total"] ?? 0, byStatus: try counts(by: "status"),
                                      byLanguage: try counts(by: "language"), cached: totals?["cached"] ?? 0,
                                      averageExecutionTimeMs: totals?["average"] ?? 0)
            }
        } catch {
            throw Self.storeError(error, operation: "summary", path: path)
        }
    }

    static func whereClause(_ query: ValidatedHistoryQuery) -> (String, StatementArguments) {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let language = query.language { conditions.append("language = ?"); arguments += [language] }
        if let status = query.status { conditions.append("status = ?"); arguments += [status] }
        if let since = query.sinceMs { conditions.append("created_at >= ?"); arguments += [since] }
        if let until = query.untilMs { conditions.append("created_at < ?"); arguments += [until] }
        if let caller = query.caller { conditions.append("caller = ?"); arguments += [caller] }
        return (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "), arguments)
    }
}
