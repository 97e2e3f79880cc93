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
            "OpenAPI": JSONSchema(["type": "object"]).described("An OpenAPI 3.1 document."),
        ]
    }
}
