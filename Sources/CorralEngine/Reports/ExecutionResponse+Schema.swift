import CorralPolicy
import CorralSandbox

extension ExecutionResponse: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        JSONSchema.object(CodingKeys.self, optional: optionalKeys) { key in
            switch key {
            case .executionID: JSONSchema.string().described("Id of the execution in history (GET /v1/executions/{id}).")
            case .status: JSONSchema.enumeration(RunStatus.allCases.map(\.rawValue)).described("How the run ended.")
            case .stdout, .stderr: JSONSchema.string()
            case .exitCode: JSONSchema.integer().orNull.described("Exit code; 128+N after signal N; null when the program never ran.")
            case .signal: JSONSchema.integer().orNull.described("The signal that ended the program, if one did.")
            case .executionTimeMs: JSONSchema.number(minimum: 0).described("Wall time of the program, in milliseconds.")
            case .cpuTimeMs: JSONSchema.number(minimum: 0).described("CPU time of every process of the run, in milliseconds.")
            case .memoryUsedMb: JSONSchema.number(minimum: 0).described("Peak memory of the run, in MiB.")
            case .outputTruncated: JSONSchema.boolean
            case .errorMessage:
                JSONSchema.string().orNull.described("Why the run did not succeed; never null unless status is success.")
            case .limitExceeded: JSONSchema.enumeration(LimitKind.allCases.map(\.rawValue)).orNull.described("The limit that tripped, if one did.")
            case .cached: JSONSchema.boolean.described("The result came from the result cache.")
            case .queueTimeMs: JSONSchema.number(minimum: 0).orNull.described("Milliseconds the request waited for a jail; null when it did not queue.")
            case .degraded: JSONSchema.array(.string()).described("Limits Corral could not enforce on this host.")
            case .compile: JSONSchema.ref("CompileResult").described("The compile stage of a compiled language.")
            case .securityFindings: JSONSchema.array(.ref("Finding")).described("Static-analysis findings (warnings, or the reasons of a refusal).")
            }
        }
        // A result that is not a success always says why.
        .with("if", .object(["properties": .object([CodingKeys.status.rawValue: .object(["not": .object(["const": .string(RunStatus.success.rawValue)])])])]))
        .with("then", .object(["properties": .object([CodingKeys.errorMessage.rawValue: .object(["type": "string"])])]))
    }
}

extension CompileResult: SchemaDescribed {
    /// `CompileResult`'s fields (CorralSandbox); the coverage test holds its encoding to this list.
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object([
            ("status", .enumeration(RunStatus.allCases.map(\.rawValue))),
            ("stdout", .string()), ("stderr", .string()),
            ("exit_code", .integer()),
            ("execution_time_ms", .number(minimum: 0)),
            ("cached", JSONSchema.boolean.described("The artifacts came from the compile cache.")),
            ("limit_exceeded", .enumeration(LimitKind.allCases.map(\.rawValue))),
            ("error_message", .string()),
        ], required: ["status", "stdout", "stderr", "execution_time_ms", "cached"])
    }
}

extension Finding: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object([
            ("rule", JSONSchema.string().described("The rule's id, e.g. python.process.shell.")),
            ("severity", .enumeration(Severity.allCases.map(\.rawValue))),
            ("category", .enumeration(FindingCategory.allCases.map(\.rawValue))),
            ("message", .string()),
            ("line", .integer()),
            ("column", .integer()),
        ], required: ["rule", "severity", "category", "message", "line", "column"])
    }
}
