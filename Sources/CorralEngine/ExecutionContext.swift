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
