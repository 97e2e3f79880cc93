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

    /// Lines longer than this are scanned in pieces, so no pattern sees unbounded input.
    static let chunkLength = 16_384

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

    func scan(_ code: String, options: ValidationOptions) -> [Finding] {
        var findings: [Finding] = []
        var lineNumber = 0
        for rawLine in code.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = stripComment(String(rawLine))
            if line.allSatisfy(\.isWhitespace) { continue }
            for (offset, piece) in Self.pieces(of: line) {
                findings += scan(line: piece, number: lineNumber, columnOffset: offset, options: options)
            }
        }
        return findings
    }

    private func scan(line: String, number: Int, columnOffset: Int, options: ValidationOptions) -> [Finding] {
        var findings: [Finding] = []
        var matched = Set<String>()
        for p in patterns {
            guard let at = p.firstMatch(in: line) else { continue }
            matched.insert(p.rule.id)
            findings.append(finding(p.rule, detail: nil, line: number, column: columnOffset + at + 1, options: options))
        }
        guard deobfuscateShell else { return findings }
        let plain = ShellText.deobfuscated(line)
        guard plain != line else { return findings }
        for p in patterns where !matched.contains(p.rule.id) && p.rule.id != obfuscationRule?.id {
            guard p.firstMatch(in: plain) != nil else { continue }
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

    private static func pieces(of line: String) -> [(Int, String)] {
        guard line.count > chunkLength else { return [(0, line)] }
        var out: [(Int, String)] = []
        var start = line.startIndex
        var offset = 0
        while start < line.endIndex {
            let end = line.index(start, offsetBy: chunkLength, limitedBy: line.endIndex) ?? line.endIndex
            out.append((offset, String(line[start..<end])))
            offset += chunkLength
            start = end
        }
        return out
    }
}
