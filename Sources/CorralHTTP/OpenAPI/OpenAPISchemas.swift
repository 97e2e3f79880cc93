/// JSON schemas of the API's bodies (the seed's field names).
enum OpenAPISchemas {
    static func object(_ properties: [String: Any], required: [String] = []) -> [String: Any] {
        var o: [String: Any] = ["type": "object", "properties": properties]
        if !required.isEmpty { o["required"] = required }
        return o
    }
    static var string: [String: Any] { ["type": "string"] }
    static var integer: [String: Any] { ["type": "integer"] }
    static var number: [String: Any] { ["type": "number"] }
    static var boolean: [String: Any] { ["type": "boolean"] }
    static var nullableInteger: [String: Any] { ["type": ["integer", "null"]] }
    static var nullableString: [String: Any] { ["type": ["string", "null"]] }
    static var anyObject: [String: Any] { ["type": "object", "additionalProperties": true] }
    static func array(_ items: [String: Any]) -> [String: Any] { ["type": "array", "items": items] }
    static func ref(_ name: String) -> [String: Any] { ["$ref": "#/components/schemas/\(name)"] }

    static var status: [String: Any] { ["type": "string", "enum": ["success", "error", "timeout", "memory_limit", "output_limit",
                                                                    "killed", "compile_error", "security_violation", "internal_error"]] }

    static var all: [String: Any] { [
        "ExecuteRequest": object([
            "code": string, "language": string, "timeout_seconds": number, "max_memory_mb": integer,
            "max_output_size": integer, "allow_network": boolean, "allow_filesystem": boolean,
            "environment_vars": ["type": "object", "additionalProperties": string], "stdin_data": string,
            "args": array(string), "priority": ["type": "string", "enum": ["LOW", "MEDIUM", "HIGH", "CRITICAL"]],
            "use_cache": boolean, "profile": string, "strict_mode": boolean, "authorized_imports": array(string),
            "dependencies": array(string),
        ], required: ["code", "language"]),
        "ExecutionResult": object([
            "execution_id": string, "status": status, "stdout": string, "stderr": string, "exit_code": nullableInteger,
            "signal": nullableInteger, "execution_time_ms": number, "cpu_time_ms": number, "memory_used_mb": number,
            "output_truncated": boolean, "error_message": nullableString, "limit_exceeded": nullableString,
            "cached": boolean, "compile": anyObject, "security_findings": array(anyObject),
        ], required: ["execution_id", "status", "stdout", "stderr", "exit_code", "execution_time_ms", "memory_used_mb", "output_truncated"]),
        "BatchRequest": object(["requests": array(ref("ExecuteRequest"))], required: ["requests"]),
        "BatchResponse": object(["results": array(["oneOf": [ref("ExecutionResult"), ref("Error")]])]),
        "ValidateRequest": object(["code": string, "language": string, "allow_network": boolean, "allow_filesystem": boolean,
                                   "strict_mode": boolean, "authorized_imports": array(string), "profile": string],
                                  required: ["code", "language"]),
        "ValidationReport": object(["is_safe": boolean, "issues": array(string), "language": string, "findings": array(anyObject)]),
        "LanguagesReport": object(["languages": anyObject, "default_timeout": number, "max_timeout": number,
                                   "default_memory_mb": integer, "max_memory_mb": integer]),
        "LimitsReport": object(["status": string, "default_limits": anyObject, "maximum_limits": anyObject, "recommended_limits": anyObject]),
        "ExecutionRecord": object(["execution_id": string, "created_at": string, "language": string, "status": string,
                                   "exit_code": nullableInteger, "execution_time_ms": number, "cpu_time_ms": number,
                                   "memory_used_mb": number, "cached": boolean, "code_hash": string, "stdout": string,
                                   "stderr": string, "caller": nullableString, "request_id": nullableString]),
        "HistoryPage": object(["count": integer, "total": integer, "limit": integer, "offset": integer,
                               "executions": array(ref("ExecutionRecord"))]),
        "StatsReport": anyObject,
        "StatusReport": object(["agent_id": string, "state": string, "uptime_seconds": number, "connections": anyObject,
                                "metrics": anyObject, "coding_metrics": anyObject]),
        "Health": object(["status": string]),
        "OpenAPI": anyObject,
        "Error": object(["error": object(["code": string, "message": string], required: ["code", "message"])], required: ["error"]),
    ] }
}
