/// One thing the validator found in the code: which rule, how severe, where.
public struct Finding: Sendable, Codable, Hashable {
    /// The rule's id, e.g. `python.process.shell`.
    public var rule: String
    /// The severity after `allow_network` / `allow_filesystem` were applied.
    public var severity: Severity
    public var category: FindingCategory
    /// The rule's message, followed by what exactly was found (`runs a shell command: os.system`).
    public var message: String
    /// 1-based line of the code the finding is about.
    public var line: Int
    /// 1-based column (in UTF-8 bytes for syntax-tree findings, in characters for pattern findings).
    public var column: Int

    public init(rule: String, severity: Severity, category: FindingCategory, message: String, line: Int, column: Int) {
        self.rule = rule
        self.severity = severity
        self.category = category
        self.message = message
        self.line = line
        self.column = column
    }

    /// The finding as one of seed 000's `issues` strings.
    public var issue: String {
        "\(severity.rawValue): \(message) (line \(line), column \(column); \(category.rawValue), \(rule))"
    }
}
