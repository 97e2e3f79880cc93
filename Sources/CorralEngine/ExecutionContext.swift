import CorralPolicy
import CorralSandbox

/// Who asks and under which correlation id; recorded with the execution.
public struct ExecutionContext: Sendable {
    /// The caller's name (API key name, `cli`), nil when anonymous.
    public var caller: String?
    /// Correlation id (`X-Request-ID`), also in logs and the history row.
    public var requestID: String?

    public init(caller: String? = nil, requestID: String? = nil) {
        self.caller = caller
        self.requestID = requestID
    }
}

/// The engine's answer to one execution: its id and the result object.
public struct ExecutionResponse: Sendable, Encodable {
    public var executionID: String
    public var result: RunResult
    /// Static-analysis findings: warnings in `warn` mode, the reasons of a refusal in `strict` mode.
    public var securityFindings: [Finding]?
    /// Milliseconds the request waited for admission (a free jail), apart from the program's own
    /// `execution_time_ms`; 0 when it did not wait, nil when it never reached admission.
    public var queueTimeMs: Double? = nil

    /// Encodes the result object's fields with `execution_id` (and `security_findings`) beside them.
    public func encode(to encoder: any Encoder) throws {
        try result.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(executionID, forKey: .executionID)
        try c.encodeIfPresent(securityFindings, forKey: .securityFindings)
        try c.encodeIfPresent(queueTimeMs, forKey: .queueTimeMs)
    }

    enum Keys: String, CodingKey {
        case executionID = "execution_id"
        case securityFindings = "security_findings"
        case queueTimeMs = "queue_time_ms"
    }
}
