import CorralPolicy

extension ValidationReport: SchemaDescribed {
    /// `ValidationReport`'s fields (CorralPolicy): every one is always sent.
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object([
            ("is_safe", JSONSchema.boolean.described("No finding reaches the threshold and the analysis did not give up on code that could run.")),
            ("issues", JSONSchema.array(.string()).described("Every finding as a sentence, most severe first (seed 000).")),
            ("language", .string()),
            ("findings", .array(.ref("Finding"))),
            ("analysis", .enumeration([ValidationReport.Method.syntaxTree, .patterns, .none].map(\.rawValue))),
            ("threshold", JSONSchema.enumeration(Severity.allCases.map(\.rawValue)).described("The severity at which findings make the code unsafe.")),
            ("error", JSONSchema.ref("AnalysisFailure").orNull.described("Set when the syntax-tree analysis failed.")),
            ("truncated", JSONSchema.boolean.described("Findings were capped.")),
            ("imports", JSONSchema.array(.string()).described("Modules the code imports (syntax-tree languages).")),
            ("duration_ms", .number(minimum: 0)),
        ], required: ["is_safe", "issues", "language", "findings", "analysis", "threshold", "error", "truncated", "imports", "duration_ms"])
    }
}

extension AnalysisFailure: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object([
            ("code", JSONSchema.string().described("syntax_error, timeout, analyzer_failed, ... (grows).")),
            ("message", .string()),
            ("line", JSONSchema.integer().orNull),
            ("column", JSONSchema.integer().orNull),
        ], required: ["code", "message", "line", "column"])
    }
}
