import Foundation

/// A rule with its pattern compiled once. `NSRegularExpression` is immutable
/// and documented safe to use from many threads at once.
final class CompiledPattern: @unchecked Sendable {
    let rule: Rule
    let regex: NSRegularExpression

    init(rule: Rule, pattern: String) throws(PolicyError) {
        self.rule = rule
        do { regex = try NSRegularExpression(pattern: pattern, options: []) } catch {
            throw PolicyError(message: "the pattern of rule \(rule.id) does not compile: \(error.localizedDescription)")
        }
    }

    /// Pieces up to this many UTF-16 units are matched in one call, the budget checked before it:
    /// a pattern that backtracks quadratically takes a few milliseconds on one. Longer pieces are
    /// matched with ICU's progress reports (a callback per start position, ~35 % slower).
    static let shortPiece = 2048

    /// The 0-based character offset of the first match in `line`, if any; nil as well when
    /// `budget` ran out first (the caller checks `budget.exhausted`). On a long line ICU reports
    /// progress once per start position and once per 10,000 backtracking steps, so a pattern that
    /// backtracks for ever on some line is stopped there.
    func firstMatch(in line: String, budget: ScanBudget) -> Int? {
        let units = line.utf16.count
        var found: NSRange?
        if units <= Self.shortPiece {
            guard !budget.expired() else { return nil }
            found = regex.firstMatch(in: line, options: [], range: NSRange(location: 0, length: units))?.range
        } else {
            regex.enumerateMatches(in: line, options: [.reportProgress], range: NSRange(location: 0, length: units)) { result, _, stop in
                if let result {
                    found = result.range
                    stop.pointee = true
                } else if budget.spend() {
                    stop.pointee = true
                }
            }
        }
        guard let found, found.location != NSNotFound, found.location <= units else { return nil }
        // A match may start inside a grapheme cluster (after a prepended U+0600, say), where
        // `Range(_:in:)` gives nil: count the cluster holding it instead of losing the finding.
        let start = String.Index(utf16Offset: found.location, in: line)
        return line[..<start].count
    }
}

/// The regex work one scan may do, shared by all its lines and patterns.
final class ScanBudget {
    private let deadline: ContinuousClock.Instant
    private var calls = 0
    private(set) var exhausted = false

    init(_ limit: Duration) { deadline = ContinuousClock.now + limit }

    /// Counts one progress report; true once the deadline has passed (checked every 1,024 reports).
    func spend() -> Bool {
        calls &+= 1
        if !exhausted, calls & 1023 == 0, ContinuousClock.now >= deadline { exhausted = true }
        return exhausted
    }

    /// True once the deadline has passed (checked now).
    func expired() -> Bool {
        if !exhausted, ContinuousClock.now >= deadline { exhausted = true }
        return exhausted
    }
}
