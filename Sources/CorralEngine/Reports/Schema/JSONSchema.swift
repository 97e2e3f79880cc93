/// A JSON Schema (the dialect of OpenAPI 3.1, draft 2020-12) as a value. Each wire type states
/// its schema once, next to its `CodingKeys` (`SchemaDescribed`); the OpenAPI document publishes
/// it and the tests hold the type's encoding to it, so the two cannot drift apart.
public struct JSONSchema: Sendable, Equatable {
    /// The schema's keywords (`type`, `properties`, `minimum`, ...).
    public private(set) var keywords: [String: JSONValue]

    public init(_ keywords: [String: JSONValue] = [:]) { self.keywords = keywords }

    public subscript(keyword: String) -> JSONValue? { keywords[keyword] }

    /// The schema as `JSONSerialization` takes it.
    public var foundation: Any { JSONValue.object(keywords).foundation }

    /// The same schema with `keyword` set to `value`.
    public func with(_ keyword: String, _ value: JSONValue?) -> JSONSchema {
        var copy = self
        copy.keywords[keyword] = value
        return copy
    }

    /// The same schema with a human description.
    public func described(_ text: String) -> JSONSchema { with("description", .string(text)) }

    /// The same schema, also allowing `null` (the field is always sent, `null` when it has no value).
    public var orNull: JSONSchema {
        if case .string(let type)? = keywords["type"], keywords["const"] == nil {
            var copy = with("type", .array([.string(type), "null"]))
            if case .array(let values)? = keywords["enum"] { copy = copy.with("enum", .array(values + [.null])) }
            return copy
        }
        return JSONSchema(["anyOf": .array([.object(keywords), .object(["type": "null"])])])
    }
}

// MARK: - Building schemas

extension JSONSchema {
    public static func string(minLength: Int? = nil, pattern: String? = nil) -> JSONSchema {
        JSONSchema(["type": "string"]).with("minLength", minLength.map(JSONValue.int)).with("pattern", pattern.map(JSONValue.string))
    }

    /// A string that is one of `values` (an enum of the type's raw values: it grows with the type).
    public static func enumeration(_ values: [String]) -> JSONSchema {
        JSONSchema(["type": "string", "enum": .array(values.map(JSONValue.string))])
    }

    public static func integer(minimum: Int? = nil, maximum: Int? = nil) -> JSONSchema {
        JSONSchema(["type": "integer"]).with("minimum", minimum.map(JSONValue.int)).with("maximum", maximum.map(JSONValue.int))
    }

    public static func number(minimum: Double? = nil, maximum: Double? = nil) -> JSONSchema {
        JSONSchema(["type": "number"]).with("minimum", minimum.map(JSONValue.number)).with("maximum", maximum.map(JSONValue.number))
    }

    public static let boolean = JSONSchema(["type": "boolean"])

    /// Exactly `value`.
    public static func constant(_ value: JSONValue) -> JSONSchema { JSONSchema(["const": value]) }

    public static func array(_ items: JSONSchema, minItems: Int? = nil, maxItems: Int? = nil) -> JSONSchema {
        JSONSchema(["type": "array", "items": .object(items.keywords)])
            .with("minItems", minItems.map(JSONValue.int)).with("maxItems", maxItems.map(JSONValue.int))
    }

    /// An object used as a map: any keys (matching `keys` when given), each value matching `values`.
    public static func map(_ values: JSONSchema, keys: JSONSchema? = nil) -> JSONSchema {
        JSONSchema(["type": "object", "additionalProperties": .object(values.keywords)])
            .with("propertyNames", keys.map { .object($0.keywords) })
    }

    /// A reference to the named schema of the document's `components`.
    public static func ref(_ name: String) -> JSONSchema { JSONSchema(["$ref": .string("#/components/schemas/\(name)")]) }

    /// An object of exactly these properties: a field the schema does not name is invalid.
    public static func object(_ properties: [(String, JSONSchema)], required: [String]) -> JSONSchema {
        var fields: [String: JSONValue] = [:]
        for (name, schema) in properties { fields[name] = .object(schema.keywords) }
        return JSONSchema(["type": "object", "properties": .object(fields), "additionalProperties": false,
                           "required": .array(required.map(JSONValue.string))])
    }

    /// An object whose properties are a type's `CodingKeys`: the switch in `property` must name
    /// every key, so a field added to the type without a schema does not compile.
    /// `optional` lists the keys the type may leave out (every other key is always sent).
    public static func object<Key: CodingKey & CaseIterable>(_ keys: Key.Type, optional: [Key] = [],
                                                              _ property: (Key) -> JSONSchema) -> JSONSchema {
        let left = Set(optional.map(\.stringValue))
        let all = Key.allCases.map { ($0.stringValue, property($0)) }
        return object(all, required: all.map(\.0).filter { !left.contains($0) })
    }

    /// A request body of a type's `CodingKeys` of which only `required` must be sent. Every other
    /// field may also be `null`, which the decoder reads as "not given".
    public static func object<Key: CodingKey & CaseIterable>(_ keys: Key.Type, required: [Key],
                                                              _ property: (Key) -> JSONSchema) -> JSONSchema {
        let names = Set(required.map(\.stringValue))
        return object(Key.allCases.map { key in (key.stringValue, names.contains(key.stringValue) ? property(key) : property(key).orNull) },
                      required: required.map(\.stringValue))
    }

    /// Adds properties to an object schema (aliases of a request's fields).
    public func adding(_ properties: [(String, JSONSchema)]) -> JSONSchema {
        guard case .object(var fields)? = keywords["properties"] else { return self }
        for (name, schema) in properties { fields[name] = .object(schema.keywords) }
        return with("properties", .object(fields))
    }

    /// Valid when exactly one of `schemas` is.
    public static func exactlyOne(_ schemas: [JSONSchema]) -> JSONSchema {
        JSONSchema(["oneOf": .array(schemas.map { .object($0.keywords) })])
    }
}
