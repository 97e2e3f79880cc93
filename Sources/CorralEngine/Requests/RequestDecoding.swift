import Foundation

/// Decodes JSON bodies into engine requests with errors that say what to fix:
/// the field, the expected type, and unknown fields (a typo must not be silently ignored).
public enum RequestDecoding {
    /// Decodes a `T`, refusing any field `T` does not know, at the top level, in its nested
    /// objects (`T.objectTypes`) and in the elements of its nested lists (`T.elementTypes`).
    public static func decode<T: KnownFields>(_ type: T.Type, from data: Data) throws(EngineError) -> T {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw EngineError(.invalidRequest, "the body is not valid JSON: \(Self.reason(error))")
        }
        guard let fields = object as? [String: Any] else {
            throw EngineError(.invalidRequest, "the body must be a JSON object")
        }
        try check(fields, as: T.self, at: nil)
        let value: T
        do { value = try JSONDecoder().decode(T.self, from: data) } catch let error as DecodingError {
            throw EngineError(.invalidRequest, describe(error))
        } catch {
            throw EngineError(.invalidRequest, "cannot decode the request: \(error)")
        }
        try value.checkShape()
        return value
    }

    /// Throws for the first field of `object` (in name order) that `type` does not know, with where it
    /// is and what was likely meant; then for a whole-number field holding another number; then
    /// checks the elements of `type`'s lists the same way.
    static func check(_ object: [String: Any], as type: any KnownFields.Type, at location: String?) throws(EngineError) {
        let place = location.map { " in \($0)" } ?? ""
        for key in object.keys.sorted() where !type.fieldNames.contains(key) {
            let hint = suggestion(for: key, among: type.fieldNames).map { " (did you mean '\($0)'?)" } ?? ""
            let name = key.utf8.count <= 200 ? key : String(key.prefix(200)) + "…"
            throw EngineError(.invalidRequest, "unknown field '\(name)'\(place)\(hint)")
        }
        for (alias, canonical) in type.aliases.sorted(by: { $0.key < $1.key }) where object[alias] != nil && object[canonical] != nil {
            throw EngineError(.invalidRequest, "'\(alias)'\(place) is another name for '\(canonical)': give one of the two, not both")
        }
        for key in type.wholeNumberFields.sorted() {
            // Only numbers: any other type is left to the decoder, which names the type expected.
            guard let number = object[key] as? NSNumber, !isWholeNumber(number) else { continue }
            throw EngineError(.invalidRequest, "field '\(key)'\(place) must be a whole number, got \(number) (GET /v1/limits gives the allowed range)")
        }
        for (key, objectType) in type.objectTypes.sorted(by: { $0.key < $1.key }) {
            if let item = object[key] as? [String: Any] { try check(item, as: objectType, at: key) }
        }
        for (key, elementType) in type.elementTypes.sorted(by: { $0.key < $1.key }) {
            // A list of something else is left to the decoder too.
            guard let elements = object[key] as? [Any] else { continue }
            for (index, element) in elements.enumerated() {
                if let item = element as? [String: Any] { try check(item, as: elementType, at: "\(key)[\(index)]") }
            }
        }
    }

    /// Whether `number` decodes as an `Int`: written as one (`-9223372036854775808`), or a
    /// floating-point value that is exactly one (`1.0`, `1e2`), as `JSONDecoder` accepts.
    static func isWholeNumber(_ number: NSNumber) -> Bool {
        let text = number.description
        if Int(text) != nil { return true }
        // An integer literal that does not fit; through a Double, -2^63 - 1 would round to Int.min.
        if text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "-") }) { return false }
        guard let value = Double(text), value.magnitude < 9e18 else { return false }
        return value == value.rounded()
    }

    /// The allowed field a typo most likely meant: one that contains it or that it contains, else the nearest by edit distance.
    /// A key longer than 64 bytes is no typo of a field name: no suggestion (an edit distance to a
    /// key of 2 MiB took seconds of CPU per request).
    static func suggestion(for key: String, among fields: Set<String>) -> String? {
        guard key.utf8.count <= 64 else { return nil }
        let k = key.lowercased()
        if let containing = fields.filter({ $0.contains(k) || k.contains($0) }).min(by: { $0.count < $1.count }) { return containing }
        return fields.map { ($0, distance(k, $0)) }.filter { $0.1 <= max(2, k.count / 3) }.min { $0.1 < $1.1 }?.0
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ p: [any CodingKey]) -> String { p.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".") }
        switch error {
        case let .keyNotFound(key, ctx): return "missing required field '\(path(ctx.codingPath + [key]))'"
        case let .typeMismatch(type, ctx): return "field '\(path(ctx.codingPath))' must be \(typeName(type))"
        case let .valueNotFound(type, ctx): return "field '\(path(ctx.codingPath))' must be \(typeName(type)), not null"
        case let .dataCorrupted(ctx): return ctx.codingPath.isEmpty ? ctx.debugDescription : "field '\(path(ctx.codingPath))': \(ctx.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type: "an integer"
        case is Double.Type: "a number"
        case is Bool.Type: "true or false"
        case is [String].Type: "an array of strings"
        case is [String: String].Type: "an object of string values"
        default: "of type \(type)"
        }
    }

    private static func reason(_ error: any Error) -> String {
        (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
    }

    private static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var prev = row[0]; row[0] = i
            for j in 1...max(b.count, 1) where !b.isEmpty {
                let cur = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1))
                prev = cur
            }
        }
        return row[b.count]
    }
}
