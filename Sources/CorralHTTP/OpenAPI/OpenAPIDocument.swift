import Foundation

/// The OpenAPI 3.1 document of the API, built from `APIRoute.all`.
public enum OpenAPIDocument {
    public static func json(version: String = "0.1.0") -> [String: Any] {
        var paths: [String: [String: Any]] = [:]
        for route in APIRoute.all {
            var operation: [String: Any] = ["operationId": route.operationID, "summary": route.summary]
            var parameters: [[String: Any]] = route.query.map {
                ["name": $0, "in": "query", "required": false, "schema": ["type": ["limit", "offset"].contains($0) ? "integer" : "string"]]
            }
            if route.path.contains("{id}") {
                parameters.append(["name": "id", "in": "path", "required": true, "schema": ["type": "string"]])
            }
            if !parameters.isEmpty { operation["parameters"] = parameters }
            if let schema = route.requestSchema {
                operation["requestBody"] = ["required": true, "content": ["application/json": ["schema": ["$ref": "#/components/schemas/\(schema)"]]]]
            }
            let ok: [String: Any] = route.responseSchema.map {
                ["description": "OK", "content": ["application/json": ["schema": ["$ref": "#/components/schemas/\($0)"]]]]
            } ?? ["description": "OK", "content": ["text/plain": ["schema": ["type": "string"]]]]
            var responses: [String: Any] = ["200": ok]
            let error: [String: Any] = ["description": "Error", "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]]]
            if route.requestSchema != nil { responses["400"] = error; responses["413"] = error }
            if route == .execute || route == .executeBatch { responses["429"] = error; responses["503"] = error }
            if route.path.contains("{id}") { responses["404"] = error }
            if !APIKeyMiddleware.open.contains(route.path) { responses["401"] = error }
            operation["responses"] = responses
            paths[route.path, default: [:]][route.method.rawValue.lowercased()] = operation
        }
        return [
            "openapi": "3.1.0",
            "info": ["title": "Corral", "version": version,
                     "description": "Run untrusted code in Linux namespace jails with hard limits."],
            "paths": paths,
            "components": ["schemas": OpenAPISchemas.all,
                           "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer"],
                                               "apiKey": ["type": "apiKey", "in": "header", "name": "X-API-Key"]]],
            "security": [["bearer": []], ["apiKey": []], [:]],
        ]
    }

    public static func data() -> Data {
        (try? JSONSerialization.data(withJSONObject: json(), options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    }
}

extension APIRoute: Equatable {
    public static func == (a: APIRoute, b: APIRoute) -> Bool { a.method == b.method && a.path == b.path }
}
