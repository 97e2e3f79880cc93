/// Everything Corral checks for one language: its rules, how its code is
/// analysed, and the names and extensions that select it.
public struct RuleSet: Sendable, Codable, Hashable {
    /// Which syntax-tree analyzer reads the language, when one does.
    public enum Analyzer: String, Sendable, Codable {
        /// `python_analyzer.py` on Python's own `ast`, in a jail.
        case python
        /// `javascript_analyzer.js` on esprima, in a jail.
        case javascript
    }

    /// Canonical name, as in the runtime catalog (`python`).
    public var language: String
    public var aliases: [String]
    /// File extensions (without the dot) that select this language for `corral validate FILE`.
    public var extensions: [String]
    public var analyzer: Analyzer?
    /// The line-comment marker; pattern rules skip what follows it.
    public var lineComment: String?
    /// Undo shell quoting tricks (`c''url`, `c\url`, `$IFS`) before a second pattern pass.
    public var deobfuscateShell: Bool?
    /// Text substituted for `%NAME%` in this set's patterns (e.g. `%CMD%`: "a command starts here").
    public var macros: [String: String]?
    /// Another set whose rules this one also uses (TypeScript uses JavaScript's).
    public var inherits: String?
    public var rules: [Rule]

    enum CodingKeys: String, CodingKey {
        case language, aliases, extensions, analyzer, macros, inherits, rules
        case lineComment = "line_comment"
        case deobfuscateShell = "deobfuscate_shell"
    }

    /// The rule with `id`, if this set has it.
    public func rule(_ id: String) -> Rule? { rules.first { $0.id == id } }

    /// `pattern` with this set's macros expanded.
    func expand(_ pattern: String) -> String {
        var p = pattern
        for (name, value) in macros ?? [:] { p = p.replacingOccurrences(of: "%\(name)%", with: value) }
        return p
    }
}
