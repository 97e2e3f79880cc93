/// The answer to "is this code safe to run?": seed 000's `validate_code` result
/// (`is_safe`, `issues`, `language`) plus precise findings. The same object is
/// printed by `corral validate --json` and returned by `POST /v1/validate`.
public struct ValidationReport: Sendable, Codable, Hashable {
    /// How the findings were obtained.
    public enum Method: String, Sendable, Codable {
        /// From the language's syntax tree (Python's `ast`, esprima).
        case syntaxTree = "syntax_tree"
        /// From the rule set's patterns, line by line.
        case patterns
        /// Nothing could be analysed (unknown language).
        case none
    }

    /// No finding reaches `threshold`, and the analysis did not give up on code that could run.
    public var isSafe: Bool
    /// Every finding as a sentence, most severe first (seed 000's shape).
    public var issues: [String]
    /// The language's canonical name (`python` for `py`), or the name asked for when unknown.
    public var language: String
    /// Most severe first, then by position.
    public var findings: [Finding]
    public var analysis: Method
    /// The severity at which findings make the code unsafe.
    public var threshold: Severity
    /// Set when the syntax-tree analysis failed; the findings then come from patterns.
    public var error: AnalysisFailure?
    /// Findings were capped (1000 per analysis).
    public var truncated: Bool
    /// Modules the code imports, as the analyzer saw them (syntax-tree languages only).
    public var imports: [String]
    /// Time the validation took, in milliseconds.
    public var durationMs: Double

    public init(language: String, findings: [Finding], analysis: Method, threshold: Severity,
                error: AnalysisFailure? = nil, truncated: Bool = false, imports: [String] = [], durationMs: Double = 0) {
        let ordered = findings.sorted {
            ($0.severity, -$0.line, -$0.column, $0.rule) > ($1.severity, -$1.line, -$1.column, $1.rule)
        }
        self.language = language
        self.findings = ordered
        self.issues = ordered.map(\.issue) + (error.map { ["analysis failed: \($0)"] } ?? [])
        self.analysis = analysis
        self.threshold = threshold
        self.error = error
        self.truncated = truncated
        self.imports = imports
        self.durationMs = durationMs
        self.isSafe = !ordered.contains { $0.severity >= threshold } && !(error?.leavesCodeUnchecked ?? false)
    }

    /// The findings at or above `threshold`.
    public func findings(atOrAbove threshold: Severity) -> [Finding] {
        findings.filter { $0.severity >= threshold }
    }

    enum CodingKeys: String, CodingKey {
        case issues, language, findings, analysis, threshold, error, truncated, imports
        case isSafe = "is_safe"
        case durationMs = "duration_ms"
    }

    /// Encodes every field, `null` included, so clients see one stable shape.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(isSafe, forKey: .isSafe)
        try c.encode(issues, forKey: .issues)
        try c.encode(language, forKey: .language)
        try c.encode(findings, forKey: .findings)
        try c.encode(analysis, forKey: .analysis)
        try c.encode(threshold, forKey: .threshold)
        try c.encode(error, forKey: .error)
        try c.encode(truncated, forKey: .truncated)
        try c.encode(imports, forKey: .imports)
        try c.encode(durationMs, forKey: .durationMs)
    }
}
