import CorralEngine
import CorralPolicy
import CorralSandbox
import CorralStore

/// The named schemas of the document, each taken from the type it describes (`SchemaDescribed`).
enum OpenAPIComponents {
    static func schemas(in context: SchemaContext) -> [String: JSONSchema] {
        [
            "ExecuteRequest": ExecuteRequest.schema(in: context),
            "BatchItem": ExecuteRequest.schema(in: context, engineBounds: false)
                .described("An execute request as a batch item: a language, limit or profile the engine refuses is that item's error, in place."),
            "BatchRequest": BatchRequest.schema(in: context),
            "ValidateRequest": ValidateRequest.schema(in: context),
            "ExecutionResult": ExecutionResponse.schema(in: context),
            "CompileResult": CompileResult.schema(in: context),
            "Finding": Finding.schema(in: context),
            "BatchResponse": BatchResponse.schema(in: context),
            "ValidationReport": ValidationReport.schema(in: context),
            "AnalysisFailure": AnalysisFailure.schema(in: context),
            "LanguagesReport": LanguagesReport.schema(in: context),
            "Language": LanguagesReport.Entry.schema(in: context),
            "LimitsReport": LimitsReport.schema(in: context),
            "Limits": LimitsReport.Limits.schema(in: context),
            "ExecutionRecord": ExecutionRecord.schema(in: context),
            "HistoryPage": HistoryResponse.schema(in: context),
            "StatsReport": StatsReport.schema(in: context),
            "CodingMetrics": StatusReport.CodingMetrics.schema(in: context),
            "StatusReport": StatusReport.schema(in: context),
            "WarmPoolStatus": WarmPoolStatus.schema(in: context),
            "Health": HealthReport.schema(.ok),
            "Ready": HealthReport.schema(.ready),
            "Error": ErrorBody.schema(),
            "CreateSessionRequest": CreateSessionRequest.schema(in: context),
            "SessionMount": CreateSessionRequest.Mount.schema(in: context),
            "Session": SessionInfo.schema(in: context),
            "SessionList": JSONSchema.object([("sessions", JSONSchema.array(.ref("Session")))], required: ["sessions"]),
            "SessionTimeoutRequest": SessionTimeoutRequest.schema(in: context),
            "SessionExecRequest": SessionExecRequest.schema(in: context),
            "ProcessStarted": JSONSchema.object([("process_id", JSONSchema.integer(minimum: 1))], required: ["process_id"]),
            "SessionExecResult": JSONSchema.exactlyOne([.ref("ExecutionResult"), .ref("ProcessStarted")])
                .described("A foreground command's result object, or a background command's process id."),
            "SessionProcess": SessionProcess.schema(in: context),
            "ProcessList": JSONSchema.object([("processes", JSONSchema.array(.ref("SessionProcess")))], required: ["processes"]),
            "ProcessStdinRequest": ProcessStdinRequest.schema(in: context),
            "ProcessSignalRequest": ProcessSignalRequest.schema(in: context),
            "ProcessResizeRequest": ProcessResizeRequest.schema(in: context),
            "CreateContextRequest": CreateContextRequest.schema(in: context),
            "CodeContext": JSONSchema.object([("context_id", JSONSchema.string()), ("language", JSONSchema.string())], required: ["context_id", "language"]),
            "CodeContextList": JSONSchema.object([("contexts", JSONSchema.array(.ref("CodeContext")))], required: ["contexts"]),
            "RunCodeRequest": RunCodeRequest.schema(in: context),
            "RunCodeResult": RunCodeResult.schema(in: context),
            "FileEntry": FileEntry.schema(in: context),
            "FileListing": JSONSchema.object([("path", JSONSchema.string()), ("entries", JSONSchema.array(.ref("FileEntry")))], required: ["path", "entries"]),
            "FileMoveRequest": FileMoveRequest.schema(in: context),
            "ChangesReport": JSONSchema.object([("changes", JSONSchema.array(JSONSchema.object(
                [("path", JSONSchema.string()), ("kind", JSONSchema.enumeration(["added", "modified", "deleted"])),
                 ("type", JSONSchema.enumeration(["file", "directory", "symlink", "other"]))], required: ["path", "kind", "type"])))],
                required: ["changes"]),
            "DiffReport": JSONSchema.object([("diff", JSONSchema.string().described("Unified diff (diff -u).")),
                                             ("binary_files", JSONSchema.array(.string()))], required: ["diff", "binary_files"]),
            "ApplyRequest": ApplyRequest.schema(in: context),
            "UnpackReport": JSONSchema.object([("files", JSONSchema.integer(minimum: 0)), ("bytes", JSONSchema.integer(minimum: 0))],
                                              required: ["files", "bytes"]),
            "Done": JSONSchema.object([("ok", JSONSchema.constant(.bool(true)))], required: ["ok"]),
            "OpenAPI": JSONSchema(["type": "object"]).described("An OpenAPI 3.1 document."),
        ]
    }
}
