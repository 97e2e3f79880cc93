/// What the engine does with a validation's findings before a run.
public enum PolicyMode: String, Sendable, Codable, CaseIterable {
    /// Do not validate.
    case off
    /// Validate; return the findings with the result (`security_findings`); run the code anyway.
    /// The default of `corral serve`.
    case warn
    /// Validate; findings at or above the threshold stop the run with status `security_violation`.
    case strict
}
