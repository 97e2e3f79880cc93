/// A history store failed: what was being done, on which file, why, and what
/// the operator can do about it.
public struct HistoryStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure; grows as stores are added.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The data directory cannot be created or written.
        public static let unwritableDirectory = Code(rawValue: "unwritable_directory")
        /// The database file cannot be opened.
        public static let cannotOpen = Code(rawValue: "cannot_open")
        /// The database is read-only (permissions, read-only mount).
        public static let readOnly = Code(rawValue: "read_only")
        /// The disk holding the database is full.
        public static let diskFull = Code(rawValue: "disk_full")
        /// The file is not a history database, or is damaged.
        public static let corrupt = Code(rawValue: "corrupt")
        /// Another process holds the database lock for too long.
        public static let busy = Code(rawValue: "busy")
        /// The operating system reported an I/O error.
        public static let ioError = Code(rawValue: "io_error")
        /// The schema could not be created or upgraded.
        public static let migrationFailed = Code(rawValue: "migration_failed")
        /// A query's filters or page are invalid (the caller's mistake).
        public static let invalidQuery = Code(rawValue: "invalid_query")
        /// A retention policy is invalid (the caller's mistake).
        public static let invalidRetention = Code(rawValue: "invalid_retention")
        /// The history server (PostgreSQL) cannot be reached or did not answer in time.
        public static let unavailable = Code(rawValue: "unavailable")
        /// Any other storage failure.
        public static let storageFailed = Code(rawValue: "storage_failed")
    }

    public var code: Code
    /// What was being done: `open`, `record`, `query`, `prune`, …
    public var operation: String
    /// The database file, when there is one.
    public var path: String?
    /// What failed, with the underlying message (SQLite's, errno's).
    public var reason: String
    /// What to do about it.
    public var hint: String?
    /// SQLite's extended result code, when SQLite reported the failure.
    public var sqliteResultCode: Int32?

    public init(code: Code, operation: String, path: String? = nil, reason: String, hint: String? = nil,
                sqliteResultCode: Int32? = nil) {
        self.code = code; self.operation = operation; self.path = path; self.reason = reason; self.hint = hint
        self.sqliteResultCode = sqliteResultCode
    }

    public var description: String {
        var text = "history \(operation) failed (\(code))"
        if let path { text += " on \(path)" }
        text += ": \(reason)"
        if let hint { text += ". \(hint)" }
        return text
    }

    /// A caller's mistake in a query, rejected before any I/O.
    static func invalidQuery(_ reason: String) -> HistoryStoreError {
        HistoryStoreError(code: .invalidQuery, operation: "query", reason: reason,
                          hint: "fix the request: limit between 0 and \(HistoryQuery.maxLimit), offset at least 0, since before until")
    }

    /// A caller's mistake in a retention policy, rejected before any I/O.
    static func invalidRetention(_ reason: String) -> HistoryStoreError {
        HistoryStoreError(code: .invalidRetention, operation: "prune", reason: reason,
                          hint: "set the retention to a positive number of days and a row count of at least 0")
    }
}
