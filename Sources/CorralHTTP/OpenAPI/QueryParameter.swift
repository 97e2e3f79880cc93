import CorralEngine
import CorralSandbox
import CorralStore

/// A query parameter of a route: its name and schema, documented from here and checked by the
/// routes (`QueryValues`) against the same bounds. A parameter a route does not take is a 400.
public struct QueryParameter: Sendable {
    public var name: String
    public var description: String
    public var schema: @Sendable (SchemaContext) -> JSONSchema
    /// Whether a request must give it (a 400 otherwise).
    public var required = false

    public init(name: String, description: String, required: Bool = false, schema: @escaping @Sendable (SchemaContext) -> JSONSchema) {
        self.name = name; self.description = description; self.required = required; self.schema = schema
    }

    public static let language = QueryParameter(name: "language", description: "Only executions in this language (its canonical name).") { _ in
        .string()
    }
    public static let status = QueryParameter(name: "status", description: "Only executions that ended with this status.") { _ in
        .enumeration(RunStatus.allCases.map(\.rawValue))
    }
    public static let since = QueryParameter(name: "since", description: "Executions created at or after this time: RFC 3339 (2024-05-01T12:00:00Z) or Unix seconds.") { _ in
        .string(pattern: QueryValues.timePattern)
    }
    public static let until = QueryParameter(name: "until", description: "Executions created before this time: RFC 3339 or Unix seconds.") { _ in
        .string(pattern: QueryValues.timePattern)
    }
    public static let limit = QueryParameter(name: "limit", description: "Page size (default 100).") { _ in
        .integer(minimum: 1, maximum: HistoryQuery.maxLimit)
    }
    public static let offset = QueryParameter(name: "offset", description: "Executions to skip (default 0).") { _ in
        .integer(minimum: 0, maximum: Int(Int64.max))
    }
    public static let includeHistory = QueryParameter(name: "include_history", description: "Add the 20 newest executions (default false).") { _ in
        .boolean
    }
}
