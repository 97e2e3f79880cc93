import Foundation

/// Checks JSON against the JSON Schema keywords Corral's document uses (draft 2020-12): `$ref`
/// into `#/components/schemas`, `type`, `enum`, `const`, `properties`, `required`,
/// `additionalProperties`, `propertyNames`, `items`, `minItems`, `maxItems`, `minimum`,
/// `maximum`, `minLength`, `pattern`, `oneOf`, `anyOf`, `allOf`, `not`, `if`/`then`.
/// A keyword it does not know is itself an error, so the document cannot outgrow the check.
struct SchemaValidator {
    /// The document's `components.schemas`.
    let components: [String: JSONNode]

    init(document: JSONNode) {
        components = document["components"]?["schemas"]?.object ?? [:]
    }

    static let known: Set<String> = [
        "$ref", "type", "enum", "const", "properties", "required", "additionalProperties", "propertyNames", "items",
        "minItems", "maxItems", "minimum", "maximum", "minLength", "pattern", "oneOf", "anyOf", "allOf", "not", "if",
        "then", "description", "format", "example", "examples", "deprecated",
    ]

    /// Every way `value` breaks `schema`, each with where (`results[2].status`); empty when valid.
    func errors(_ value: JSONNode, _ schema: JSONNode, at path: String = "$") -> [String] {
        guard let keywords = schema.object else { return schema == .bool(false) ? ["\(path): nothing is allowed here"] : [] }
        var errors: [String] = []
        for keyword in keywords.keys where !Self.known.contains(keyword) {
            errors.append("\(path): the schema uses '\(keyword)', which this validator does not know")
        }
        if let ref = keywords["$ref"]?.string {
            let name = ref.replacingOccurrences(of: "#/components/schemas/", with: "")
            guard let target = components[name] else { return errors + ["\(path): $ref \(ref) resolves to nothing"] }
            errors += self.errors(value, target, at: path)
        }
        if let type = keywords["type"] {
            let types = type.array?.compactMap(\.string) ?? type.string.map { [$0] } ?? []
            if !types.contains(where: { Self.has(value, type: $0) }) {
                return errors + ["\(path): \(value) is not \(types.joined(separator: " or "))"]
            }
        }
        if let options = keywords["enum"]?.array, !options.contains(value) { errors.append("\(path): \(value) is not one of \(options)") }
        if let constant = keywords["const"], constant != value { errors.append("\(path): \(value) is not \(constant)") }
        errors += objectErrors(value, keywords, at: path)
        errors += arrayErrors(value, keywords, at: path)
        errors += scalarErrors(value, keywords, at: path)
        errors += combinatorErrors(value, keywords, at: path)
        return errors
    }

    func isValid(_ value: JSONNode, _ schema: JSONNode) -> Bool { errors(value, schema).isEmpty }

    private func objectErrors(_ value: JSONNode, _ k: [String: JSONNode], at path: String) -> [String] {
        guard let object = value.object else { return [] }
        var errors: [String] = []
        let properties = k["properties"]?.object ?? [:]
        for name in k["required"]?.array?.compactMap(\.string) ?? [] where object[name] == nil {
            errors.append("\(path): missing required '\(name)'")
        }
        for (name, field) in object.sorted(by: { $0.key < $1.key }) {
            if let property = properties[name] {
                errors += self.errors(field, property, at: "\(path).\(name)")
            } else if let additional = k["additionalProperties"] {
                if additional == .bool(false) { errors.append("\(path): '\(name)' is not in the schema") }
                else { errors += self.errors(field, additional, at: "\(path).\(name)") }
            }
            if let names = k["propertyNames"] { errors += self.errors(.string(name), names, at: "\(path) key '\(name)'") }
        }
        return errors
    }

    private func arrayErrors(_ value: JSONNode, _ k: [String: JSONNode], at path: String) -> [String] {
        guard let array = value.array else { return [] }
        var errors: [String] = []
        if let min = k["minItems"]?.number, Double(array.count) < min { errors.append("\(path): fewer than \(Int(min)) items") }
        if let max = k["maxItems"]?.number, Double(array.count) > max { errors.append("\(path): more than \(Int(max)) items") }
        if let items = k["items"] {
            for (index, item) in array.enumerated() { errors += self.errors(item, items, at: "\(path)[\(index)]") }
        }
        return errors
    }

    private func scalarErrors(_ value: JSONNode, _ k: [String: JSONNode], at path: String) -> [String] {
        var errors: [String] = []
        if let number = value.number {
            if let min = k["minimum"]?.number, number < min { errors.append("\(path): \(number) < minimum \(min)") }
            if let max = k["maximum"]?.number, number > max { errors.append("\(path): \(number) > maximum \(max)") }
        }
        if let string = value.string {
            if let min = k["minLength"]?.number, Double(string.unicodeScalars.count) < min { errors.append("\(path): shorter than \(Int(min))") }
            if let pattern = k["pattern"]?.string, !Self.matches(string, pattern) { errors.append("\(path): \(value) does not match \(pattern)") }
        }
        return errors
    }

    private func combinatorErrors(_ value: JSONNode, _ k: [String: JSONNode], at path: String) -> [String] {
        var errors: [String] = []
        if let options = k["oneOf"]?.array {
            let passing = options.filter { isValid(value, $0) }.count
            if passing != 1 { errors.append("\(path): \(value) matches \(passing) of oneOf's \(options.count) schemas") }
        }
        if let options = k["anyOf"]?.array, !options.contains(where: { isValid(value, $0) }) {
            errors.append("\(path): \(value) matches none of anyOf: \(options.flatMap { self.errors(value, $0, at: path) })")
        }
        for schema in k["allOf"]?.array ?? [] { errors += self.errors(value, schema, at: path) }
        if let not = k["not"], isValid(value, not) { errors.append("\(path): \(value) matches a schema it must not") }
        if let condition = k["if"], isValid(value, condition), let then = k["then"] { errors += self.errors(value, then, at: path) }
        return errors
    }

    static func has(_ value: JSONNode, type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object), ("number", .number): true
        case ("integer", .number(let d)): d == d.rounded()
        default: false
        }
    }

    /// ECMA-262 and ICU agree on the subset the document uses (`\uXXXX`, classes, groups, anchors).
    static func matches(_ string: String, _ pattern: String) -> Bool {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return false }
        return regex.firstMatch(in: string, range: NSRange(string.startIndex..., in: string)) != nil
    }
}
