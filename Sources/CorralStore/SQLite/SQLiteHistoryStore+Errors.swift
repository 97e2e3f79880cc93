import GRDB

extension SQLiteHistoryStore {
    /// `error` as a `HistoryStoreError` that names the file, the operation,
    /// SQLite's result code and message, and what to do. Errors that are
    /// already `HistoryStoreError`, and cancellation, pass through unchanged.
    static func storeError(_ error: any Error, operation: String, path: String) -> any Error {
        if error is HistoryStoreError || error is CancellationError { return error }
        guard let error = error as? DatabaseError else {
            return HistoryStoreError(code: .storageFailed, operation: operation, path: path, reason: "\(error)")
        }
        let (code, hint) = classify(error.resultCode, path: path)
        var reason = "SQLite error \(error.extendedResultCode.rawValue): \(error.message ?? "no message")"
        if let sql = error.sql { reason += " (in: \(sql.prefix(120)))" }
        return HistoryStoreError(code: code, operation: operation, path: path, reason: reason, hint: hint,
                                 sqliteResultCode: error.extendedResultCode.rawValue)
    }

    /// `storeError` for the initializer, whose throws are typed.
    static func typedStoreError(_ error: any Error, operation: String, path: String) -> HistoryStoreError {
        let mapped: any Error = storeError(error, operation: operation, path: path)
        return mapped as? HistoryStoreError
            ?? HistoryStoreError(code: .storageFailed, operation: operation, path: path, reason: "\(mapped)")
    }

    private static func classify(_ code: ResultCode, path: String) -> (HistoryStoreError.Code, String) {
        let moveAside = "use --data-dir to choose another directory"
        switch code {
        case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_AUTH:
            return (.cannotOpen, "check that \(path) and its directory are readable and writable by this user, or \(moveAside)")
        case .SQLITE_READONLY:
            return (.readOnly, "the file or its file system is read-only: fix the permissions of \(path) and its -wal/-shm files, or \(moveAside)")
        case .SQLITE_FULL:
            return (.diskFull, "free space on the disk holding \(path), lower the history retention, or \(moveAside) on another disk")
        case .SQLITE_CORRUPT, .SQLITE_NOTADB, .SQLITE_FORMAT:
            return (.corrupt, "\(path) is not a usable Corral history database: move it aside (a new one is created on start) or \(moveAside)")
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return (.busy, "another process has held the history database lock for over \(Int(busyTimeout)) s: stop it or \(moveAside)")
        case .SQLITE_IOERR:
            return (.ioError, "the operating system failed to read or write \(path): check the disk and the system log")
        default:
            return (.storageFailed, "check \(path) with `sqlite3 \(path) 'PRAGMA integrity_check'`, or \(moveAside)")
        }
    }
}
