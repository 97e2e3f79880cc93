/// How a run ended. Designed to grow: decode unknown values as `.other`.
public enum RunStatus: String, Sendable, Codable, CaseIterable {
    case success
    /// The program exited with a non-zero code.
    case error
    /// The wall-clock or CPU time limit was reached.
    case timeout
    case memoryLimit = "memory_limit"
    case outputLimit = "output_limit"
    /// The program died of a signal not caused by a Corral limit (or by the file-size limit).
    case killed
    case compileError = "compile_error"
    case securityViolation = "security_violation"
    /// Corral itself failed; `error_message` says why.
    case internalError = "internal_error"
}

/// The limit that ended or constrained a run, when one did.
public enum LimitKind: String, Sendable, Codable, CaseIterable {
    case wallTime = "wall_time"
    case cpuTime = "cpu_time"
    case memory
    case output
    case processes
    case fileSize = "file_size"
    case openFiles = "open_files"
}

/// The result object of seed 000's `execute_code`, plus the signal, CPU time
/// and the limit that tripped.
public struct RunResult: Sendable, Codable, Equatable {
    public var status: RunStatus
    public var stdout: String
    public var stderr: String
    /// The program's exit code; 128+N when it died of signal N; `nil` when it never ran.
    public var exitCode: Int?
    public var signal: Int?
    /// Wall time of the program, in milliseconds.
    public var executionTimeMs: Double
    public var cpuTimeMs: Double
    /// Peak memory of the run, in MiB.
    public var memoryUsedMb: Double
    public var outputTruncated: Bool
    public var errorMessage: String?
    public var limitExceeded: LimitKind?
    /// Set by the engine's result cache.
    public var cached: Bool?
    /// Limits Corral could not enforce on this host (e.g. no writable cgroup).
    public var degraded: [String]?
    /// The compile stage of a compiled language.
    public var compile: CompileResult?

    public init(
        status: RunStatus, stdout: String = "", stderr: String = "", exitCode: Int? = nil, signal: Int? = nil,
        executionTimeMs: Double = 0, cpuTimeMs: Double = 0, memoryUsedMb: Double = 0,
        outputTruncated: Bool = false, errorMessage: String? = nil, limitExceeded: LimitKind? = nil,
        cached: Bool? = nil, degraded: [String]? = nil
    ) {
        self.status = status; self.stdout = stdout; self.stderr = stderr; self.exitCode = exitCode
        self.signal = signal; self.executionTimeMs = executionTimeMs; self.cpuTimeMs = cpuTimeMs
        self.memoryUsedMb = memoryUsedMb; self.outputTruncated = outputTruncated
        self.errorMessage = errorMessage; self.limitExceeded = limitExceeded; self.cached = cached
        self.degraded = degraded
    }

    /// A result for a run that Corral could not carry out.
    public static func internalError(_ message: String) -> RunResult {
        RunResult(status: .internalError, errorMessage: message)
    }

    enum CodingKeys: String, CodingKey {
        case status, stdout, stderr, signal, cached, degraded, compile
        case exitCode = "exit_code"
        case executionTimeMs = "execution_time_ms"
        case cpuTimeMs = "cpu_time_ms"
        case memoryUsedMb = "memory_used_mb"
        case outputTruncated = "output_truncated"
        case errorMessage = "error_message"
        case limitExceeded = "limit_exceeded"
    }

    /// Encodes every field, `null` included, so clients see one stable shape.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(status, forKey: .status)
        try c.encode(stdout, forKey: .stdout)
        try c.encode(stderr, forKey: .stderr)
        try c.encode(exitCode, forKey: .exitCode)
        try c.encode(signal, forKey: .signal)
        try c.encode(executionTimeMs, forKey: .executionTimeMs)
        try c.encode(cpuTimeMs, forKey: .cpuTimeMs)
        try c.encode(memoryUsedMb, forKey: .memoryUsedMb)
        try c.encode(outputTruncated, forKey: .outputTruncated)
        try c.encode(errorMessage, forKey: .errorMessage)
        try c.encode(limitExceeded, forKey: .limitExceeded)
        try c.encodeIfPresent(cached, forKey: .cached)
        try c.encodeIfPresent(degraded, forKey: .degraded)
        try c.encodeIfPresent(compile, forKey: .compile)
    }
}

/// The compile stage of a run: its own jail, limits and result.
public struct CompileResult: Sendable, Codable, Equatable {
    public var status: RunStatus
    public var stdout: String
    public var stderr: String
    public var exitCode: Int?
    public var executionTimeMs: Double
    /// The artifacts came from the compile cache; nothing was compiled.
    public var cached: Bool
    /// The limit of the compile stage that stopped or constrained the compiler, when one did.
    public var limitExceeded: LimitKind?
    /// Why the compile stage failed, in words naming the limit or the host failure.
    public var errorMessage: String?

    public init(status: RunStatus, stdout: String = "", stderr: String = "", exitCode: Int? = nil,
                executionTimeMs: Double = 0, cached: Bool, limitExceeded: LimitKind? = nil, errorMessage: String? = nil) {
        self.status = status; self.stdout = stdout; self.stderr = stderr; self.exitCode = exitCode
        self.executionTimeMs = executionTimeMs; self.cached = cached
        self.limitExceeded = limitExceeded; self.errorMessage = errorMessage
    }

    enum CodingKeys: String, CodingKey {
        case status, stdout, stderr, cached
        case exitCode = "exit_code"
        case executionTimeMs = "execution_time_ms"
        case limitExceeded = "limit_exceeded"
        case errorMessage = "error_message"
    }
}
