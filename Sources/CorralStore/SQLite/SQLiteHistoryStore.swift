import Foundation
import GRDB

/// Execution history in an embedded SQLite database (the default store).
///
/// One file, opened as a GRDB `DatabasePool` in WAL mode: one writer
/// connection, concurrent readers, so `GET /v1/executions` never waits for
/// `record`. Several processes may share the file (`corral serve` and
/// `corral history`); writers wait up to `busyTimeout` for each other.
public final class SQLiteHistoryStore: HistoryStore {
    /// The database file.
    public let path: String
    let pool: DatabasePool

    /// How long a write waits for another process holding the write lock.
    public static let busyTimeout: TimeInterval = 5

    /// Opens (or creates) the history database at `path`, creating missing
    /// parent directories with mode 0700 (history holds code output), and
    /// brings its schema up to date.
    /// The threads every SQLite store's calls run on (see `BlockingWorkers`): five readers and
    /// the writer of a pool can all proceed at once.
    static let workers = BlockingWorkers(threads: 6, name: "corral-sqlite")

    /// A read transaction on a worker thread.
    func reading<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let pool = self.pool
        return try await Self.workers.run { try pool.read(body) }
    }

    /// A write transaction on a worker thread.
    func writing<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let pool = self.pool
        return try await Self.workers.run { try pool.write(body) }
    }

    public init(path: String) throws(HistoryStoreError) {
        self.path = path
        try Self.prepareDirectory(of: path)
        var configuration = Configuration()
        configuration.label = "corral.history"
        configuration.busyMode = .timeout(Self.busyTimeout)
        do {
            Self.createPrivateFile(at: path)
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw Self.typedStoreError(error, operation: "open", path: path)
        }
        do {
            try Self.migrator.migrate(pool)
        } catch {
            var failure = Self.typedStoreError(error, operation: "migrate", path: path)
            if failure.code == .storageFailed { failure.code = .migrationFailed }
            throw failure
        }
    }

    /// Durability: GRDB's `write` commits before it returns. In WAL mode with
    /// `synchronous = NORMAL` (GRDB's setting) the commit has been written to
    /// the `-wal` file with write(2) but not fsync'd. A killed process (even
    /// SIGKILL) loses nothing: the bytes are in the kernel's page cache and
    /// the next open replays the WAL. Only a power loss or kernel crash can
    /// drop the last commits, and never corrupts the file. `synchronous = FULL`
    /// would add an fsync per row for that case, at a cost in latency the
    /// service does not need.
    public func record(_ record: ExecutionRecord) async throws {
        let arguments = record.insertArguments
        do {
            try await writing { db in
                // Prepared once per connection, not parsed and authorized again on every record.
                try db.cachedStatement(sql: ExecutionRecord.upsertSQL).execute(arguments: arguments)
            }
        } catch {
            throw Self.storeError(error, operation: "record", path: path)
        }
    }

    public func execution(id: String) async throws -> ExecutionRecord? {
        do {
            return try await reading { db in
                try Row.fetchOne(db, sql: "SELECT * FROM executions WHERE execution_id = ?", arguments: [id])
                    .map(ExecutionRecord.init(row:))
            }
        } catch {
            throw Self.storeError(error, operation: "read execution \(id)", path: path)
        }
    }
}

extension SQLiteHistoryStore {
    /// Creates the missing directories above `path` with mode 0700 and checks
    /// that the last one is writable (SQLite needs to create `-wal` and `-shm`
    /// files beside the database), so that a bad `--data-dir` is reported as
    /// such rather than as SQLite's "unable to open database file".
    static func prepareDirectory(of path: String) throws(HistoryStoreError) {
        let directory = (path as NSString).deletingLastPathComponent
        let hint = "choose a writable data directory with --data-dir (or CORRAL_DATA_DIR)"
        guard !directory.isEmpty else { return }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw HistoryStoreError(code: .unwritableDirectory, operation: "open", path: path,
                                        reason: "\(directory) exists and is not a directory", hint: hint)
            }
        } else {
            try createDirectories(directory, path: path, hint: hint)
        }
        guard access(directory, W_OK | X_OK) == 0 else {
            let reason = String(cString: strerror(errno))
            throw HistoryStoreError(code: .unwritableDirectory, operation: "open", path: path,
                                    reason: "the directory \(directory) is not writable: \(reason)", hint: hint)
        }
    }

    /// mkdir(2) for each missing component, so that every directory this
    /// creates (not only the last) gets mode 0700 whatever the umask.
    private static func createDirectories(_ directory: String, path: String, hint: String) throws(HistoryStoreError) {
        var missing: [String] = []
        var current = directory
        while !current.isEmpty, current != "/", !FileManager.default.fileExists(atPath: current) {
            missing.append(current)
            current = (current as NSString).deletingLastPathComponent
        }
        for component in missing.reversed() {
            if mkdir(component, 0o700) != 0, errno != EEXIST {
                let reason = String(cString: strerror(errno))
                throw HistoryStoreError(code: .unwritableDirectory, operation: "open", path: path,
                                        reason: "cannot create the directory \(component): \(reason)", hint: hint)
            }
            chmod(component, 0o700)
        }
    }

    /// Creates an empty database file readable by its owner only (an empty
    /// file is a valid empty SQLite database); SQLite gives the `-wal` and
    /// `-shm` files the same mode. An existing file is left as it is.
    static func createPrivateFile(at path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd >= 0 { close(fd) }
    }
}
