import GRDB

extension SQLiteHistoryStore {
    /// The schema, as GRDB migrations: each runs once, in its own transaction,
    /// and a file written by a newer Corral is refused rather than misread.
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: executions") { db in
            // `seq` is the rowid: insertion order, which breaks ties between
            // rows created in the same millisecond. `created_at` is Unix time
            // in milliseconds (see HistoryTimestamp). Each index ends in
            // `created_at` (and implicitly the rowid) so that a filter plus
            // "newest first" is one index walk, without a sort.
            try db.execute(sql: """
                CREATE TABLE executions (
                    seq INTEGER PRIMARY KEY,
                    execution_id TEXT NOT NULL UNIQUE,
                    created_at INTEGER NOT NULL,
                    language TEXT NOT NULL,
                    status TEXT NOT NULL,
                    exit_code INTEGER,
                    execution_time_ms REAL NOT NULL,
                    cpu_time_ms REAL NOT NULL,
                    memory_used_mb REAL NOT NULL,
                    cached INTEGER NOT NULL,
                    code_hash TEXT NOT NULL,
                    stdout TEXT NOT NULL,
                    stderr TEXT NOT NULL,
                    error_message TEXT,
                    caller TEXT,
                    request_id TEXT
                );
                CREATE INDEX executions_by_created_at ON executions(created_at);
                CREATE INDEX executions_by_language ON executions(language, created_at);
                CREATE INDEX executions_by_status ON executions(status, created_at);
                """)
        }
        migrator.registerMigration("v2: tasks") { db in
            // A task's fields live in `document` (JSON); the columns are what tasks are found by.
            try db.execute(sql: """
                CREATE TABLE tasks (
                    seq INTEGER PRIMARY KEY,
                    task_id TEXT NOT NULL UNIQUE,
                    owner TEXT NOT NULL,
                    status TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    document BLOB NOT NULL
                );
                CREATE INDEX tasks_by_owner ON tasks(owner, created_at);
                CREATE INDEX tasks_by_status ON tasks(status, created_at);
                """)
        }
        return migrator
    }()
}

extension ExecutionRecord {
    /// Recording an id that is already stored replaces that row's fields and
    /// keeps its place, so a retry after an ambiguous failure (the write
    /// committed but the caller saw an error or a timeout) is harmless.
    static let upsertSQL = """
        INSERT INTO executions (execution_id, created_at, language, status, exit_code, execution_time_ms,
            cpu_time_ms, memory_used_mb, cached, code_hash, stdout, stderr, error_message, caller, request_id)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(execution_id) DO UPDATE SET
            created_at = excluded.created_at, language = excluded.language, status = excluded.status,
            exit_code = excluded.exit_code, execution_time_ms = excluded.execution_time_ms,
            cpu_time_ms = excluded.cpu_time_ms, memory_used_mb = excluded.memory_used_mb,
            cached = excluded.cached, code_hash = excluded.code_hash, stdout = excluded.stdout,
            stderr = excluded.stderr, error_message = excluded.error_message, caller = excluded.caller,
            request_id = excluded.request_id
        """

    var insertArguments: StatementArguments {
        [executionId, HistoryTimestamp.milliseconds(of: createdAt), language, status, exitCode, executionTimeMs,
         cpuTimeMs, memoryUsedMb, cached, codeHash, stdout, stderr, errorMessage, caller, requestId]
    }

    /// Decodes a row of `executions`.
    init(row: Row) {
        // Through the memberwise initializer so stored outputs go through the
        // same truncation as live ones (a no-op for rows this store wrote).
        self.init(executionId: row["execution_id"], createdAt: HistoryTimestamp.date(milliseconds: row["created_at"]),
                  language: row["language"], status: row["status"], exitCode: row["exit_code"],
                  executionTimeMs: row["execution_time_ms"], cpuTimeMs: row["cpu_time_ms"],
                  memoryUsedMb: row["memory_used_mb"], cached: row["cached"], codeHash: row["code_hash"],
                  stdout: row["stdout"], stderr: row["stderr"], errorMessage: row["error_message"],
                  caller: row["caller"], requestId: row["request_id"])
    }
}
