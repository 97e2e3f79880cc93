/// What an analyzer script prints: raw findings by rule id, the imports it saw,
/// and its own error when it could not parse the code.
struct AnalyzerOutput: Decodable, Sendable {
    struct RawFinding: Decodable, Sendable {
        var rule: String
        var line: Int
        var column: Int
        var detail: String
    }

    struct RawImport: Decodable, Sendable {
        var module: String
        var line: Int
        var column: Int
    }

    var findings: [RawFinding]
    var imports: [RawImport]
    var truncated: Bool
    var error: AnalysisFailure?
}
