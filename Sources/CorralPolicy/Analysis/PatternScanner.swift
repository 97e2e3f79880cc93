import Foundation

/// Matches a rule set's patterns line by line: the analysis of pattern-based
/// languages, and the fallback when a syntax tree cannot be had.
struct PatternScanner: Sendable {
    let language: String
    let patterns: [CompiledPattern]
    let lineComment: String?
    let deobfuscateShell: Bool
    /// Raised beside a finding that only appeared once shell quoting tricks were undone.
    let obfuscationRule: Rule?

    /// Lines longer than this many UTF-16 units (what the regex engine walks) are scanned in
    /// pieces cut at character boundaries, so no pattern sees unbounded input.
    static let chunkLength = 16_384

    /// Regex work one scan may take. Some shipped patterns backtrack in time quadratic in a
    /// piece's length; past this the scan stops and reports the code unchecked (`too_complex`).
    static let timeBudget: Duration = .seconds(5)

    init(ruleSet: RuleSet, rules: [Rule]) throws(PolicyError) {
        language = ruleSet.language
        var compiled: [CompiledPattern] = []
        for rule in rules {
            if let pattern = rule.pattern { compiled.append(try CompiledPattern(rule: rule, pattern: ruleSet.expand(pattern))) }
        }
        patterns = compiled
        lineComment = ruleSet.lineComment
        deobfuscateShell = ruleSet.deobfuscateShell ?? false
        obfuscationRule = ruleSet.rule("\(ruleSet.language).dynamic.obfuscation")
    }

    /// The findings, and a `too_complex` failure when the time budget ran out before the end.
    func scan(_ code: String, options: ValidationOptions) -> (findings: [Finding], failure: AnalysisFailure?) {
        var findings: [Finding] = []
        var lineNumber = 0
        let budget = ScanBudget(Self.timeBudget)
        // "\r\n" is one Character, never equal to "\n": split on both, or a CRLF file is a single line
        // (and a comment on its first line hides all the rest from stripComment).
        for rawLine in code.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNumber += 1
            let line = stripComment(String(rawLine))
            if line.allSatisfy(\.isWhitespace) { continue }
            for (offset, piece) in Self.pieces(of: line) {
                findings += scan(line: piece, number: lineNumber, columnOffset: offset, options: options, budget: budget)
                if budget.exhausted {
                    return (findings, AnalysisFailure(code: .tooComplex, message: "the pattern scan gave up after \(Self.timeBudget)",
                                                      line: lineNumber))
                }
            }
        }
        return (findings, nil)
    }

    private func scan(line: String, number: Int, columnOffset: Int, options: ValidationOptions, budget: ScanBudget) -> [Finding] {
        var findings: [Finding] = []
        var matched = Set<String>()
        for p in patterns {
            guard let at = p.firstMatch(in: line, budget: budget) else {
                if budget.exhausted { return findings }
                continue
            }
            matched.insert(p.rule.id)
            findings.append(finding(p.rule, detail: nil, line: number, column: columnOffset + at + 1, options: options))
        }
        guard deobfuscateShell else { return findings }
        let plain = ShellText.deobfuscated(line)
        guard plain != line else { return findings }
        for p in patterns where !matched.contains(p.rule.id) && p.rule.id != obfuscationRule?.id {
            guard p.firstMatch(in: plain, budget: budget) != nil else {
                if budget.exhausted { return findings }
                continue
            }
            findings.append(finding(p.rule, detail: "hidden by quoting", line: number, column: columnOffset + 1, options: options))
            if let hidden = obfuscationRule, !matched.contains(hidden.id) {
                matched.insert(hidden.id)
                findings.append(finding(hidden, detail: "reads as: \(plain.trimmingCharacters(in: .whitespaces).prefix(120))",
                                        line: number, column: columnOffset + 1, options: options))
            }
        }
        return findings
    }

    private func finding(_ rule: Rule, detail: String?, line: Int, column: Int, options: ValidationOptions) -> Finding {
        Finding(rule: rule.id, severity: rule.severity(under: options), category: rule.category,
                message: detail.map { "\(rule.message) (\($0))" } ?? rule.message, line: line, column: column)
    }

    /// The line without its trailing comment (quote-aware; `#` only at a word start for shells).
    func stripComment(_ line: String) -> String {
        guard let marker = lineComment, line.contains(marker) else { return line }
        var quote: Character?
        var escaped = false
        var previous: Character = " "
        var index = line.startIndex
        while index < line.endIndex {
            let c = line[index]
            if escaped {
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else if let q = quote {
                if c == q { quote = nil }
            } else if c == "\"" || c == "'" || c == "`" {
                quote = c
            } else if line[index...].hasPrefix(marker), marker != "#" || previous.isWhitespace {
                return String(line[..<index])
            }
            previous = c
            index = line.index(after: index)
        }
        return line
    }

    /// `line` in pieces of at most `chunkLength` UTF-16 units (a single larger character, such as
    /// one letter with a million combining marks, is a piece of its own), each with the column
    /// offset, in characters, of its start. Counting characters instead let one piece hold the
    /// whole line: a grapheme cluster has no size limit.
    static func pieces(of line: String) -> [(Int, String)] {
        guard line.utf16.count > chunkLength else { return [(0, line)] }
        var out: [(Int, String)] = []
        var start = line.startIndex, units = 0, characters = 0, offset = 0
        var index = line.startIndex
        while index < line.endIndex {
            let next = line.index(after: index)
            let width = line.utf16.distance(from: index, to: next)
            if units > 0, units + width > chunkLength {
                out.append((offset, String(line[start..<index])))
                offset += characters
                start = index; units = 0; characters = 0
            }
            units += width
            characters += 1
            index = next
        }
        out.append((offset, String(line[start..<line.endIndex])))
        return out
    }
}
