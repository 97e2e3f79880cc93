import CorralPolicy
import CorralSandbox

/// The engine's answer to one execution: seed 000's result object with its `execution_id`.
/// Every field is always sent (`null` when it has no value) except `compile` (compiled languages),
/// `security_findings` (when the validator found something) and `degraded` (when a limit could
/// not be enforced on this host).
public struct ExecutionResponse: Sendable, Encodable {
    public var executionID: String
    /// The result, with the contract's guarantees applied: `cached` is set, and a result that is
    /// not a success has an `error_message`.
    public private(set) var result: RunResult
    /// Static-analysis findings: warnings in `warn` mode, the reasons of a refusal in `strict` mode.
    public var securityFindings: [Finding]?
    /// Milliseconds the request waited for admission (for a jail); `nil` when it never queued
    /// (a cache hit, a refusal). Filled by the engine.
    public var queueTimeMs: Double?

    public init(executionID: String, result: RunResult, securityFindings: [Finding]? = nil, queueTimeMs: Double? = nil) {
        self.executionID = executionID
        var result = result
        result.cached = result.cached ?? false
        if result.status != .success, result.errorMessage == nil { result.errorMessage = result.fallbackErrorMessage }
        self.result = result
        self.securityFindings = securityFindings
        self.queueTimeMs = queueTimeMs
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case status, stdout, stderr, signal, cached, degraded, compile
        case executionID = "execution_id"
        case exitCode = "exit_code"
        case executionTimeMs = "execution_time_ms"
        case cpuTimeMs = "cpu_time_ms"
        case memoryUsedMb = "memory_used_mb"
        case outputTruncated = "output_truncated"
        case errorMessage = "error_message"
        case limitExceeded = "limit_exceeded"
        case securityFindings = "security_findings"
        case queueTimeMs = "queue_time_ms"
    }

    /// The fields the response leaves out when they have no value.
    static let optionalKeys: [CodingKeys] = [.degraded, .compile, .securityFindings]

    /// The result object as the sandbox encodes it (every field, `cached` always set by `init`),
    /// with the response's own keys beside it: one encoding of a result, not a copy of it.
    public func encode(to encoder: any Encoder) throws {
        try result.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(executionID, forKey: .executionID)
        try c.encode(queueTimeMs, forKey: .queueTimeMs)
        try c.encodeIfPresent(securityFindings, forKey: .securityFindings)
    }
}

extension RunResult {
    /// What went wrong, in words, for a result whose producer gave no message. The sandbox and
    /// the runtimes describe what they decide; this is the floor under the contract that a
    /// result that is not a success always says why.
    var fallbackErrorMessage: String? {
        switch status {
        case .success: nil
        case .error: "exited with code \(exitCode.map(String.init) ?? "unknown")"
        case .timeout: "the time limit was exceeded"
        case .memoryLimit: "the memory limit was exceeded"
        case .outputLimit: "the output limit was exceeded"
        case .killed: signal.map { "killed by signal \($0)" } ?? "killed"
        case .compileError: "compilation failed"
        case .securityViolation: "refused by the security policy"
        case .internalError: "Corral failed to run the program; retry, and report it if it persists"
        }
    }
}
