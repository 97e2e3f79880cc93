import CorralStore
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// Execution history of a fleet in PostgreSQL: every instance records into, and reads from, the same
/// `executions` table, so `get_execution_history` answers the same on every instance. Same contract
/// as `SQLiteHistoryStore` (HistoryStoreContractTests run on both). Each call has a deadline
/// (`operationTimeout`): a server that stopped answering is an `unavailable` error, not a hang.
public final class PostgresHistoryStore: HistoryStore {
    let client: PostgresClient
    let logger: Logger
    let url: PostgresURL
    public let operationTimeout: Double
    /// Whether `migrate()` succeeded in this process: every call makes sure first, so an instance
    /// that started while PostgreSQL was down migrates once it is back.
    let schemaReady = Mutex(false)

    /// Connects lazily (the pool opens up to `poolSize` connections as needed). Call `run()` in a
    /// long-lived task and `migrate()` once before use.
    public init(url: String, poolSize: Int = 8, operationTimeout: Double = 2, logger: Logger) throws(HistoryStoreError) {
        let parsed = try PostgresURL(url)
        guard (1...1000).contains(poolSize) else {
            throw HistoryStoreError(code: .cannotOpen, operation: "open", reason: "the PostgreSQL pool size is 1 to 1000, got \(poolSize)")
        }
        self.url = parsed
        self.logger = logger
        self.operationTimeout = operationTimeout
        client = PostgresClient(configuration: parsed.configuration(poolSize: poolSize, connectTimeout: operationTimeout), backgroundLogger: logger)
    }

    /// The server, without the password.
    public var redactedURL: String { url.redacted }

    /// `url` without its password (for status and logs).
    public static func redact(_ url: String) throws(HistoryStoreError) -> String { try PostgresURL(url).redacted }

    /// Runs the connection pool until the task is cancelled.
    public func run() async { await client.run() }

    /// Creates or upgrades the schema. Instances starting together take a transaction-scoped advisory
    /// lock, so one migrates and the others find the schema done.
    public func migrate() async throws(HistoryStoreError) {
        if schemaReady.withLock({ $0 }) { return }
        try await timed("migrate") {
            try await self.client.withTransaction(logger: self.logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(7042001)", logger: self.logger)
                try await connection.query("""
                    CREATE TABLE IF NOT EXISTS corral_schema (version INTEGER NOT NULL)
                    """, logger: self.logger)
                var version = 0
                for try await (v) in try await connection.query("SELECT COALESCE(MAX(version), 0) FROM corral_schema", logger: self.logger).decode(Int.self) {
                    version = v
                }
                guard version <= Self.schemaVersion else {
                    throw HistoryStoreError(code: .migrationFailed, operation: "migrate", reason: "the database's schema is version \(version), newer than this corral's \(Self.schemaVersion)",
                                            hint: "upgrade corral on every instance")
                }
                if version < 1 {
                    // `seq` orders rows recorded in the same millisecond; `created_at` is Unix time in
                    // milliseconds, as in SQLite (HistoryTimestamp).
                    for statement in [
                        """
                        CREATE TABLE executions (
                            seq BIGSERIAL PRIMARY KEY,
                            execution_id TEXT NOT NULL UNIQUE,
                            created_at BIGINT NOT NULL,
                            language TEXT NOT NULL,
                            status TEXT NOT NULL,
                            exit_code BIGINT,
                            execution_time_ms DOUBLE PRECISION NOT NULL,
                            cpu_time_ms DOUBLE PRECISION NOT NULL,
                            memory_used_mb DOUBLE PRECISION NOT NULL,
                            cached BOOLEAN NOT NULL,
                            code_hash TEXT NOT NULL,
                            stdout TEXT NOT NULL,
                            stderr TEXT NOT NULL,
                            error_message TEXT,
                            caller TEXT,
                            request_id TEXT
                        )
                        """,
                        "CREATE INDEX executions_by_created_at ON executions(created_at, seq)",
                        "CREATE INDEX executions_by_language ON executions(language, created_at, seq)",
                        "CREATE INDEX executions_by_status ON executions(status, created_at, seq)",
                        "INSERT INTO corral_schema (version) VALUES (1)",
                    ] {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
                    }
                }
            }
        }
        schemaReady.withLock { $0 = true }
    }

    static let schemaVersion = 1

    public func record(_ r: ExecutionRecord) async throws {
        try await migrate()
        let ms = HistoryTimestamp.milliseconds(of: r.createdAt)
        let exit = r.exitCode.map(Int64.init)
        try await timed("record") {
            try await self.client.query("""
                INSERT INTO executions (execution_id, created_at, language, status, exit_code, execution_time_ms, cpu_time_ms,
                    memory_used_mb, cached, code_hash, stdout, stderr, error_message, caller, request_id)
                VALUES (\(r.executionId), \(ms), \(r.language), \(r.status), \(exit), \(r.executionTimeMs), \(r.cpuTimeMs),
                    \(r.memoryUsedMb), \(r.cached), \(r.codeHash), \(r.stdout), \(r.stderr), \(r.errorMessage), \(r.caller), \(r.requestId))
                ON CONFLICT (execution_id) DO UPDATE SET
                    created_at = excluded.created_at, language = excluded.language, status = excluded.status,
                    exit_code = excluded.exit_code, execution_time_ms = excluded.execution_time_ms,
                    cpu_time_ms = excluded.cpu_time_ms, memory_used_mb = excluded.memory_used_mb,
                    cached = excluded.cached, code_hash = excluded.code_hash, stdout = excluded.stdout,
                    stderr = excluded.stderr, error_message = excluded.error_message, caller = excluded.caller,
                    request_id = excluded.request_id
                """, logger: self.logger)
        }
    }

    public func execution(id: String) async throws -> ExecutionRecord? {
        try await migrate()
        return try await timed("read execution") { () async throws -> ExecutionRecord? in
            let rows = try await self.client.query("SELECT * FROM executions WHERE execution_id = \(id)", logger: self.logger)
            for try await row in rows { return try Self.record(row) }
            return nil
        }
    }

    public func query(_ query: HistoryQuery) async throws -> HistoryPage {
        let valid = try query.validated()
        try await migrate()
        return try await timed("query") {
            // One transaction at REPEATABLE READ: the count and the page agree with each other.
            try await self.client.withTransaction(logger: self.logger) { connection in
                try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", logger: self.logger)
                var total = 0
                for try await n in try await connection.query(Self.filtered("SELECT COUNT(*) FROM executions", valid, page: false), logger: self.logger).decode(Int.self) {
                    total = n
                }
                var records: [ExecutionRecord] = []
                for try await row in try await connection.query(Self.filtered("SELECT * FROM executions", valid, page: true), logger: self.logger) {
                    records.append(try Self.record(row))
                }
                return HistoryPage(records: records, total: total)
            }
        }
    }

    public func summary() async throws -> HistorySummary {
        try await migrate()
        return try await timed("summary") {
            var summary = HistorySummary()
            let totals = try await self.client.query("""
                SELECT COUNT(*), COALESCE(SUM(CASE WHEN cached THEN 1 ELSE 0 END), 0), COALESCE(AVG(execution_time_ms), 0) FROM executions
                """, logger: self.logger)
            for try await (total, cached, average) in totals.decode((Int, Int, Double).self) {
                summary.total = total
                summary.cached = cached
                summary.averageExecutionTimeMs = average
            }
            for try await (key, n) in try await self.client.query("SELECT status, COUNT(*) FROM executions GROUP BY status", logger: self.logger).decode((String, Int).self) {
                summary.byStatus[key] = n
            }
            for try await (key, n) in try await self.client.query("SELECT language, COUNT(*) FROM executions GROUP BY language", logger: self.logger).decode((String, Int).self) {
                summary.byLanguage[key] = n
            }
            return summary
        }
    }

    public func prune(_ policy: RetentionPolicy) async throws -> Int {
        let cutoff = try policy.cutoffMs(now: Date())
        try await migrate()
        return try await timed("prune") {
            var deleted = 0
            if let cutoff {
                for try await n in try await self.client.query("WITH d AS (DELETE FROM executions WHERE created_at < \(cutoff) RETURNING 1) SELECT COUNT(*) FROM d", logger: self.logger).decode(Int.self) {
                    deleted += n
                }
            }
            if let maxRows = policy.maxRows {
                let keep = Int64(maxRows)
                for try await n in try await self.client.query("""
                    WITH keep AS (SELECT seq FROM executions ORDER BY created_at DESC, seq DESC LIMIT \(keep)),
                         d AS (DELETE FROM executions WHERE seq NOT IN (SELECT seq FROM keep) RETURNING 1)
                    SELECT COUNT(*) FROM d
                    """, logger: self.logger).decode(Int.self) {
                    deleted += n
                }
            }
            return deleted
        }
    }
}
