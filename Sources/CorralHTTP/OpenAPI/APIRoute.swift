import CorralEngine
import Hummingbird

/// One route of the API. `APIRoute.all` is the single list the router, the contract middleware
/// (404, 405, 415, unknown query parameters) and the OpenAPI document are built from, so they
/// cannot drift apart.
public struct APIRoute: Sendable {
    public var method: HTTPRequest.Method
    /// OpenAPI-style path (`/v1/executions/{id}`), also Hummingbird's syntax.
    public var path: String
    public var operationID: String
    public var summary: String
    /// Component name of the JSON body, if any (the route then takes only JSON: 415 otherwise).
    public var requestSchema: String?
    /// Component name of the success response (nil: Prometheus text).
    public var responseSchema: String?
    public var query: [QueryParameter] = []
    /// The error codes the route may answer (`unauthorized` is added when API keys are configured).
    public var errors: [APIErrorCode]
    /// A body that is not JSON (`application/octet-stream`: a file's bytes), instead of `requestSchema`.
    public var requestMedia: String? = nil
    /// Media types of a success that is not (only) JSON, with their schema (`application/zip`, a file's bytes).
    public var responseMedia: [String: JSONSchema] = [:]
    /// The status of a success (202 for work accepted to run later).
    public var successStatus = 200
    /// The last `{name}` of `path` takes the rest of the path, slashes included (a file's path).
    public var catchAll = false
    /// A proxy's route: any query parameter passes (the proxied server reads them) and its answers,
    /// whatever their status, are the proxied server's (`default` in the document).
    public var passThrough = false
    /// Any query parameter passes, for the page's own scripts to read (noVNC's `autoconnect`, `path`, …).
    public var anyQuery = false

    /// The path as the router takes it (a catch-all's last segment is `**`).
    var routerPath: String {
        guard catchAll, let slash = path.lastIndex(of: "/") else { return path }
        return String(path[..<slash]) + "/**"
    }

    /// Errors of every route that takes a JSON body.
    static let bodyErrors: [APIErrorCode] = [.invalidRequest, .payloadTooLarge, .unsupportedMediaType]

    public static let execute = APIRoute(method: .post, path: "/v1/execute", operationID: "executeCode",
        summary: "Run code in a fresh jail and return the result object (seed 000 execute_code).",
        requestSchema: "ExecuteRequest", responseSchema: "ExecutionResult",
        errors: bodyErrors + [.unknownLanguage, .invalidLimit, .queueFull, .shuttingDown, .internalError], responseMedia: streamedMedia)
    /// With `Accept: text/event-stream`: `output` events as the program writes, then one `result` event.
    static let streamedMedia: [String: JSONSchema] = ["text/event-stream": eventSchema(["output", "result", "error"])
        .described("Server-Sent Events: output {stream, text} as it comes, then result (the JSON answer).")]

    /// One Server-Sent Event: its id, its name (one of `names`) and its JSON data.
    static func eventSchema(_ names: [String]) -> JSONSchema {
        let properties: [String: JSONValue] = [
            "id": .object(JSONSchema.string(pattern: "^[0-9]+$").keywords), "event": .object(JSONSchema.enumeration(names).keywords),
            "data": .object(JSONSchema.string().keywords),
        ]
        return JSONSchema(["type": "object", "required": .array([.string("event"), .string("data")]), "properties": .object(properties)])
    }
    public static let executeBatch = APIRoute(method: .post, path: "/v1/execute/batch", operationID: "executeBatch",
        summary: "Run many programs at once; results in request order, a refused item's error in its place. The items' max_output_size together may be at most the maximum of one request (or the default per item, when that is more): else a 400.",
        requestSchema: "BatchRequest", responseSchema: "BatchResponse", errors: bodyErrors)
    public static let validate = APIRoute(method: .post, path: "/v1/validate", operationID: "validateCode",
        summary: "Statically analyse code without running it (seed 000 validate_code).",
        requestSchema: "ValidateRequest", responseSchema: "ValidationReport",
        errors: bodyErrors + [.unknownLanguage, .internalError])
    public static let languages = APIRoute(method: .get, path: "/v1/languages", operationID: "listLanguages",
        summary: "Languages with availability, version, default and maximum limits (seed 000 list_languages, seed 003 fields).",
        responseSchema: "LanguagesReport", errors: [.invalidRequest])
    public static let limits = APIRoute(method: .get, path: "/v1/limits", operationID: "getResourceLimitsInfo",
        summary: "Default and maximum limits and the named profiles (seed 003 get_resource_limits_info).",
        responseSchema: "LimitsReport", errors: [.invalidRequest])
    public static let executions = APIRoute(method: .get, path: "/v1/executions", operationID: "getExecutionHistory",
        summary: "Execution history, newest first (seed 000 get_execution_history).", responseSchema: "HistoryPage",
        query: [.language, .status, .since, .until, .limit, .offset], errors: [.invalidRequest, .internalError])
    public static let execution = APIRoute(method: .get, path: "/v1/executions/{id}", operationID: "getExecution",
        summary: "One execution of the history.", responseSchema: "ExecutionRecord", errors: [.invalidRequest, .notFound, .internalError])
    public static let stats = APIRoute(method: .get, path: "/v1/stats", operationID: "getExecutorStats",
        summary: "Execution statistics (seed 003 get_executor_stats).", responseSchema: "StatsReport",
        query: [.includeHistory], errors: [.invalidRequest])
    public static let status = APIRoute(method: .get, path: "/v1/status", operationID: "getStatus",
        summary: "The service's status object (seed 000 status).", responseSchema: "StatusReport", errors: [.invalidRequest])
    public static let health = APIRoute(method: .get, path: "/healthz", operationID: "health",
        summary: "Liveness: the process answers.", responseSchema: "Health", errors: [.invalidRequest])
    public static let ready = APIRoute(method: .get, path: "/readyz", operationID: "ready",
        summary: "Readiness: jails can run and the service is not draining.", responseSchema: "Ready",
        errors: [.invalidRequest, .shuttingDown])
    public static let metrics = APIRoute(method: .get, path: "/metrics", operationID: "metrics",
        summary: "Prometheus text exposition.", responseSchema: nil, errors: [.invalidRequest])
    public static let openAPI = APIRoute(method: .get, path: "/openapi.json", operationID: "openAPI",
        summary: "This document.", responseSchema: "OpenAPI", errors: [.invalidRequest])

    public static let all: [APIRoute] = [execute, executeBatch, validate, languages, limits, executions, execution,
                                         stats, status, health, ready, metrics, openAPI] + sessionRoutes + viewerRoutes + taskRoutes + seedTaskRoutes

    /// Whether `path` (as sent, without the query) is this route's: equal segments, a `{name}`
    /// segment standing for any non-empty one.
    public func matches(_ path: Substring) -> Bool {
        Self.matches(template: self.path.split(separator: "/", omittingEmptySubsequences: false),
                     path.split(separator: "/", omittingEmptySubsequences: false), catchAll: catchAll)
    }

    static func matches(template: [Substring], _ given: [Substring], catchAll: Bool = false) -> Bool {
        if catchAll, given.count > template.count, !given[template.count...].contains(where: \.isEmpty) {
            return matches(template: template, Array(given[..<template.count]))
        }
        guard template.count == given.count else { return false }
        return zip(template, given).allSatisfy { pattern, segment in
            pattern.hasPrefix("{") ? !segment.isEmpty : pattern == segment
        }
    }

    /// Every route's path split once: `routes(at:)` runs on every request.
    private static let segmented: [(route: APIRoute, segments: [Substring])] =
        all.map { ($0, $0.path.split(separator: "/", omittingEmptySubsequences: false)) }

    /// The routes at `path`, whatever their method.
    public static func routes(at path: Substring) -> [APIRoute] {
        let given = path.split(separator: "/", omittingEmptySubsequences: false)
        return segmented.filter { matches(template: $0.segments, given, catchAll: $0.route.catchAll) }.map(\.route)
    }
}

extension APIRoute: Equatable {
    public static func == (a: APIRoute, b: APIRoute) -> Bool { a.method == b.method && a.path == b.path }
}
