import Hummingbird

/// One route of the API. `APIRoute.all` is the single list both the router
/// and the OpenAPI document are built from, so the two cannot drift apart.
public struct APIRoute: Sendable {
    public var method: HTTPRequest.Method
    /// OpenAPI-style path (`/v1/executions/{id}`), also Hummingbird's syntax.
    public var path: String
    public var operationID: String
    public var summary: String
    /// Schema name of the JSON body, if any.
    public var requestSchema: String?
    /// Schema name of the success response (nil: text).
    public var responseSchema: String?
    public var query: [String] = []

    public static let execute = APIRoute(method: .post, path: "/v1/execute", operationID: "executeCode",
        summary: "Run code in a fresh jail and return the result object (seed 000 execute_code).",
        requestSchema: "ExecuteRequest", responseSchema: "ExecutionResult")
    public static let executeBatch = APIRoute(method: .post, path: "/v1/execute/batch", operationID: "executeBatch",
        summary: "Run many programs at once; results in request order.", requestSchema: "BatchRequest", responseSchema: "BatchResponse")
    public static let validate = APIRoute(method: .post, path: "/v1/validate", operationID: "validateCode",
        summary: "Statically analyse code without running it (seed 000 validate_code).",
        requestSchema: "ValidateRequest", responseSchema: "ValidationReport")
    public static let languages = APIRoute(method: .get, path: "/v1/languages", operationID: "listLanguages",
        summary: "Languages with availability, version, default and maximum limits (seed 000 list_languages).",
        responseSchema: "LanguagesReport")
    public static let limits = APIRoute(method: .get, path: "/v1/limits", operationID: "getResourceLimitsInfo",
        summary: "Default and maximum limits and the named profiles (seed 003 get_resource_limits_info).",
        responseSchema: "LimitsReport")
    public static let executions = APIRoute(method: .get, path: "/v1/executions", operationID: "getExecutionHistory",
        summary: "Execution history, newest first (seed 000 get_execution_history).", responseSchema: "HistoryPage",
        query: ["language", "status", "since", "until", "limit", "offset"])
    public static let execution = APIRoute(method: .get, path: "/v1/executions/{id}", operationID: "getExecution",
        summary: "One execution of the history.", responseSchema: "ExecutionRecord")
    public static let stats = APIRoute(method: .get, path: "/v1/stats", operationID: "getExecutorStats",
        summary: "Execution statistics (seed 003 get_executor_stats).", responseSchema: "StatsReport", query: ["include_history"])
    public static let status = APIRoute(method: .get, path: "/v1/status", operationID: "getStatus",
        summary: "The service's status object (seed 000 status).", responseSchema: "StatusReport")
    public static let health = APIRoute(method: .get, path: "/healthz", operationID: "health",
        summary: "Liveness: the process answers.", responseSchema: "Health")
    public static let ready = APIRoute(method: .get, path: "/readyz", operationID: "ready",
        summary: "Readiness: jails can run and the service is not draining.", responseSchema: "Health")
    public static let metrics = APIRoute(method: .get, path: "/metrics", operationID: "metrics",
        summary: "Prometheus text exposition.", responseSchema: nil)
    public static let openAPI = APIRoute(method: .get, path: "/openapi.json", operationID: "openAPI",
        summary: "This document.", responseSchema: "OpenAPI")

    public static let all: [APIRoute] = [execute, executeBatch, validate, languages, limits, executions, execution,
                                         stats, status, health, ready, metrics, openAPI]
}
