/// Turns validation reports into decisions (allow, warn, refuse).
public enum Policy {
    /// What to do with code whose validation gave `report`.
    ///
    /// - `off`: always allow.
    /// - `warn`: allow; any finding is returned as a warning.
    /// - `strict`: refuse when a finding reaches `threshold`, or when the analysis gave up on
    ///   code that could still run (fail closed); otherwise warn or allow as in `warn`.
    public static func decide(_ report: ValidationReport, mode: PolicyMode,
                              threshold: Severity = .defaultThreshold) -> PolicyDecision {
        switch mode {
        case .off:
            return .allow
        case .warn:
            return report.findings.isEmpty ? .allow : .warn(findings: report.findings)
        case .strict:
            let blocking = report.findings(atOrAbove: threshold)
            if !blocking.isEmpty {
                let first = blocking[0]
                let more = blocking.count > 1 ? " and \(blocking.count - 1) more finding\(blocking.count > 2 ? "s" : "")" : ""
                return .refuse(reason: "strict mode: \(first.message) at line \(first.line)\(more) at or above \(threshold.rawValue)",
                               findings: report.findings)
            }
            if let failure = report.error, failure.leavesCodeUnchecked {
                return .refuse(reason: "strict mode: the code could not be analysed (\(failure))", findings: report.findings)
            }
            return report.findings.isEmpty ? .allow : .warn(findings: report.findings)
        }
    }
}
