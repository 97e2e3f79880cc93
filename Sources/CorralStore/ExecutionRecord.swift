import Foundation

/// One execution as recorded in history (seed 000 `get_execution_history`).
public struct ExecutionRecord: Sendable, Codable, Equatable {
    public var executionId: String
    public var createdAt: Date
    public var language: String
    public var status: String
    public var exitCode: Int?
    public var executionTimeMs: Double
    public var cpuTimeMs: Double
    public var memoryUsedMb: Double
    public var cached: Bool
    /// SHA-256 of the code, hex.
    public var codeHash: String
    /// stdout/stderr truncated to `ExecutionRecord.outputLimit` bytes.
    public var stdout: String
    public var stderr: String
    public var errorMessage: String?
    /// Who asked: the API key's name or `cli`; nil when anonymous.
    public var caller: String?
    /// Correlation id (`X-Request-ID`).
    public var requestId: String?

    /// Bytes of stdout and of stderr kept in a history row.
    public static let outputLimit = 4096

    public init(executionId: String, createdAt: Date, language: String, status: String, exitCode: Int?,
                executionTimeMs: Double, cpuTimeMs: Double, memoryUsedMb: Double, cached: Bool, codeHash: String,
                stdout: String, stderr: String, errorMessage: String?, caller: String?, requestId: String?) {
        self.executionId = executionId; self.createdAt = createdAt; self.language = language; self.status = status
        self.exitCode = exitCode; self.executionTimeMs = executionTimeMs; self.cpuTimeMs = cpuTimeMs
        self.memoryUsedMb = memoryUsedMb; self.cached = cached; self.codeHash = codeHash
        self.stdout = Self.truncate(stdout); self.stderr = Self.truncate(stderr); self.errorMessage = errorMessage
        self.caller = caller; self.requestId = requestId
    }

    /// Keeps at most `outputLimit` bytes, cut between two Unicode scalars (never inside a UTF-8
    /// sequence). Not at a grapheme boundary: finding one walked the whole of a cluster per step,
    /// and one "a" with 500,000 combining accents took seconds per stream.
    public static func truncate(_ s: String) -> String {
        guard s.utf8.count > outputLimit else { return s }
        var bytes = Array(s.utf8.prefix(outputLimit + 1))
        var end = outputLimit
        while end > 0, bytes[end] & 0xC0 == 0x80 { end -= 1 }
        bytes.removeSubrange(end...)
        return String(decoding: bytes, as: UTF8.self)
    }

    enum CodingKeys: String, CodingKey {
        case language, status, stdout, stderr, caller, cached
        case executionId = "execution_id"
        case createdAt = "created_at"
        case exitCode = "exit_code"
        case executionTimeMs = "execution_time_ms"
        case cpuTimeMs = "cpu_time_ms"
        case memoryUsedMb = "memory_used_mb"
        case codeHash = "code_hash"
        case errorMessage = "error_message"
        case requestId = "request_id"
    }
}

/// Filters and page of a history query.
public struct HistoryQuery: Sendable, Equatable {
    public var language: String?
    public var status: String?
    /// Inclusive lower and exclusive upper bound on `createdAt`.
    public var since: Date?
    public var until: Date?
    /// Default 100, at most `maxLimit`.
    public var limit: Int = 100
    public var offset: Int = 0
    /// Only rows of this caller (an API key's name); nil: every caller's (the CLI, a server without keys).
    public var caller: String?

    public static let maxLimit = 1000

    public init(language: String? = nil, status: String? = nil, since: Date? = nil, until: Date? = nil, limit: Int = 100, offset: Int = 0) {
        self.language = language; self.status = status; self.since = since; self.until = until
        self.limit = limit; self.offset = offset
    }
}

/// A page of history, newest first, with the number of rows matching the filters.
public struct HistoryPage: Sendable, Equatable {
    public var records: [ExecutionRecord]
    public var total: Int
    public init(records: [ExecutionRecord], total: Int) { self.records = records; self.total = total }
}

/// Retention: rows older than `maxAgeDays` or beyond the newest `maxRows` are pruned.
public struct RetentionPolicy: Sendable, Equatable {
    public var maxAgeDays: Double? = 30
    public var maxRows: Int? = 1_000_000
    public init(maxAgeDays: Double? = 30, maxRows: Int? = 1_000_000) { self.maxAgeDays = maxAgeDays; self.maxRows = maxRows }
}
