/// How much a finding matters, from `low` (worth knowing) to `critical` (runs
/// arbitrary commands or escapes the interpreter). Ordered: `low < critical`.
public enum Severity: String, Sendable, Codable, CaseIterable, Comparable {
    case low
    case medium
    case high
    case critical

    /// The threshold used when a request names none: `high` and `critical` findings make code unsafe.
    public static let defaultThreshold: Severity = .high

    private var rank: Int {
        switch self {
        case .low: 0
        case .medium: 1
        case .high: 2
        case .critical: 3
        }
    }

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }

    /// This severity moved `levels` steps (negative: lower), clamped to `low...critical`.
    public func shifted(by levels: Int) -> Severity {
        let all = Severity.allCases
        return all[min(max(rank + levels, 0), all.count - 1)]
    }
}
