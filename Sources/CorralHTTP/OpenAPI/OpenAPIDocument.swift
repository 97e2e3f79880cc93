import CorralEngine
import Foundation

/// The OpenAPI 3.1 document of a server: its routes (`APIRoute.all`), their parameters, bodies,
/// responses and error codes, and the schemas of its types with this server's bounds (maxima,
/// languages, profiles, batch size), so that it is exactly as strict as the server.
public struct OpenAPIDocument: Sendable {
    public static let defaultVersion = "0.1.0"
    public var context: SchemaContext
    public var http: HTTPConfiguration
    public var version: String

    public init(context: SchemaContext, http: HTTPConfiguration, version: String = defaultVersion) {
        self.context = context; self.http = http; self.version = version
    }

    /// Whether requests need an API key (then every route but the health checks documents a 401).
    var secured: Bool { !http.apiKeys.isEmpty }

    public var json: [String: Any] {
        var paths: [String: [String: Any]] = [:]
        for route in APIRoute.all {
            paths[route.path, default: [:]][route.method.rawValue.lowercased()] = operation(route)
        }
        var components: [String: Any] = ["schemas": OpenAPIComponents.schemas(in: context).mapValues(\.foundation)]
        var document: [String: Any] = [
            "openapi": "3.1.0",
            "info": ["title": "Corral", "version": version,
                     "description": """
                        Run untrusted code in Linux namespace jails with hard limits. Every error is \
                        {"error": {"code", "message"}}; an unknown route is a 404, another method on a known \
                        route a 405 with Allow, a body not declared as JSON a 415 (no Content-Type counts as JSON).
                        """],
            "paths": paths,
        ]
        if secured {
            components["securitySchemes"] = ["bearer": ["type": "http", "scheme": "bearer"],
                                             "apiKey": ["type": "apiKey", "in": "header", "name": "X-API-Key"]]
            document["security"] = [["bearer": [String]()], ["apiKey": [String]()]]
        }
        document["components"] = components
        return document
    }

    public var data: Data {
        // Every value is built from strings, numbers, booleans, arrays and dictionaries: it serializes.
        (try? JSONSerialization.data(withJSONObject: json, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    }

    /// The largest process id Linux hands out (PID_MAX_LIMIT).
    static let maxPID = 4_194_304

    func operation(_ route: APIRoute) -> [String: Any] {
        var operation: [String: Any] = ["operationId": route.operationID, "summary": route.summary,
                                        "responses": responses(route)]
        var parameters: [[String: Any]] = route.query.map {
            ["name": $0.name, "in": "query", "required": $0.required, "description": $0.description, "schema": $0.schema(context).foundation]
        }
        for segment in route.path.split(separator: "/") where segment.hasPrefix("{") {
            let name = String(segment.dropFirst().dropLast())
            let schema = name == "pid" ? JSONSchema.integer(minimum: 1, maximum: Self.maxPID) : JSONSchema.string(minLength: 1)
            parameters.append(["name": name, "in": "path", "required": true, "schema": schema.foundation])
        }
        if !parameters.isEmpty { operation["parameters"] = parameters }
        if let schema = route.requestSchema {
            var media: [String: Any] = ["schema": JSONSchema.ref(schema).foundation]
            if let example = example(of: route) { media["example"] = example }
            operation["requestBody"] = ["required": true, "content": [JSONBody.mediaType: media]]
        }
        if let media = route.requestMedia {
            operation["requestBody"] = ["required": true, "content": [media: ["schema": ["type": "string", "format": "binary"]]]]
        }
        if secured, APIKeyMiddleware.open.contains(route.path) { operation["security"] = [[String: [String]]]() }
        return operation
    }

    func responses(_ route: APIRoute) -> [String: Any] {
        let requestID: [String: Any] = ["X-Request-ID": ["description": "The request's correlation id (taken from the request or made).",
                                                         "required": true, "schema": ["type": "string"]]]
        var responses: [String: Any] = [:]
        if let schema = route.responseSchema {
            var content: [String: Any] = [JSONBody.mediaType: ["schema": JSONSchema.ref(schema).foundation]]
            for (media, schema) in route.responseMedia { content[media] = ["schema": schema.foundation] }
            responses[String(route.successStatus)] = ["description": route.successStatus == 202 ? "Accepted" : "OK", "headers": requestID, "content": content]
        } else if !route.responseMedia.isEmpty {
            responses[String(route.successStatus)] = ["description": route.successStatus == 202 ? "Accepted" : "OK", "headers": requestID,
                                "content": route.responseMedia.mapValues { ["schema": $0.foundation] }]
        } else {
            responses[String(route.successStatus)] = ["description": route.successStatus == 202 ? "Accepted" : "OK", "headers": requestID, "content": ["text/plain": ["schema": ["type": "string"]]]]
        }
        // A proxy's answers, whatever their status, may be the proxied server's own (any type, any body).
        let proxied: [String: Any] = ["schema": ["type": "string", "format": "binary"]]
        if route.passThrough {
            responses[String(route.successStatus)] = ["description": "The proxied server's answer.", "headers": requestID, "content": ["*/*": proxied]]
            responses["default"] = ["description": "The proxied server's own answer (status, headers and body), passed through.",
                                    "content": ["*/*": proxied]]
        }
        var codes = route.errors
        if secured, !APIKeyMiddleware.open.contains(route.path) { codes.append(.unauthorized) }
        for (status, group) in Dictionary(grouping: codes, by: \.status) {
            var headers = requestID
            if group.contains(.queueFull) || group.contains(.limitReached) {
                headers["Retry-After"] = ["description": "Seconds after which a retry may be admitted.", "required": true,
                                          "schema": ["type": "string", "pattern": "^[0-9]+$"]]
            }
            let error: [String: Any] = ["schema": ErrorBody.schema(codes: group).foundation]
            responses[String(status.code)] = [
                "description": group.map(\.rawValue).sorted().joined(separator: ", ") + (route.passThrough ? "; or the proxied server's own answer" : ""),
                "headers": headers,
                "content": route.passThrough
                    ? [JSONBody.mediaType: ["schema": ["anyOf": [ErrorBody.schema(codes: group).foundation, [String: Any]()]]], "*/*": proxied]
                    : [JSONBody.mediaType: error],
            ]
        }
        return responses
    }

    /// A request that succeeds, for readers and for the examples phase of conformance tools.
    func example(of route: APIRoute) -> [String: Any]? {
        guard context.languageNames.contains("python"), context.languageNames.contains("bash") else { return nil }
        switch route {
        case .execute: return ["code": "print('hello')", "language": "python", "timeout_seconds": 5]
        case .executeBatch: return ["requests": [["code": "print(1)", "language": "python"], ["code": "exit 3", "language": "bash"]]]
        case .validate: return ["code": "import os\nos.system('id')", "language": "python"]
        default: return nil
        }
    }
}
