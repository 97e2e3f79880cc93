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

    /// The 0-based character offset of the first match in `line`, if any.
    func firstMatch(in line: String) -> Int? {
        let range = NSRange(line.startIndex..., in: line)
        guard let match = regex.firstMatch(in: line, options: [], range: range),
              let found = Range(match.range, in: line) else { return nil }
        return line.distance(from: line.startIndex, to: found.lowerBound)
    }
}
