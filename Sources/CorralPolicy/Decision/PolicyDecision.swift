/// The outcome of applying a policy mode to a validation report.
public enum PolicyDecision: Sendable, Equatable {
    /// Nothing to say: run the code.
    case allow
    /// Run the code and return these findings with its result.
    case warn(findings: [Finding])
    /// Do not run the code: record a `security_violation` with this reason and these findings.
    case refuse(reason: String, findings: [Finding])

    /// Whether the code may run.
    public var allowsRun: Bool {
        if case .refuse = self { return false }
        return true
    }

    /// The findings to report with the result or the refusal.
    public var findings: [Finding] {
        switch self {
        case .allow: []
        case .warn(let findings), .refuse(_, let findings): findings
        }
    }
}
