@testable import CorralEngine
@testable import CorralHTTP
import CorralSandbox
import Foundation
import Testing

/// Every wire type against its schema in `/openapi.json`, without a server: a field added to a
/// type and not to its schema (or the other way round) fails here.
struct SchemaCoverageTests {
    static let context = SchemaContext(languages: ["python", "bash"], languageNames: ["python", "py", "bash", "sh", "c++"],
                                       profiles: ["development", "production"], maxBatchSize: 4)
    static var document: JSONNode {
        get throws { try JSONNode.parse(OpenAPIDocument(context: context, http: HTTPConfiguration()).data) }
    }

    @Test("each response type's encoding is valid against its schema, and names exactly the schema's fields",
          arguments: WireSample.all.map(\.component))
    func encodingMatchesSchema(component: String) throws {
        let sample = try #require(WireSample.all.first { $0.component == component })
        let validator = SchemaValidator(document: try Self.document)
        let schema = try #require(validator.components[component], "no component \(component)")
        let node = try JSONNode.encode(sample.value)
        #expect(validator.errors(node, schema) == [], "\(component)")
        // The sample fills every field, so each documented property must appear: none is a phantom.
        let documented = Set(schema["properties"]?.object?.keys.map { $0 } ?? [])
        let sent = Set(node.object?.keys.map { $0 } ?? [])
        #expect(documented == sent, "\(component): documented but not sent \(documented.subtracting(sent).sorted()), sent but not documented \(sent.subtracting(documented).sorted())")
    }

    @Test("every stored property of every response type is sent (so its schema must name it)", arguments: WireSample.all.map(\.component))
    func everyPropertyIsSent(component: String) throws {
        let sample = try #require(WireSample.all.first { $0.component == component })
        var missing: [String] = []
        Self.collectUnsent(sample.value, in: try JSONNode.encode(sample.value), path: component, into: &missing)
        #expect(missing.isEmpty, "properties not in the JSON (add them to the encoding and the schema): \(missing)")
    }

    /// Walks `value`'s stored properties (Mirror) beside its JSON, into Corral's own nested types.
    static func collectUnsent(_ value: Any, in node: JSONNode, path: String, into missing: inout [String]) {
        let renamed = ["fileExtension": "extension", "result": ""]
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional {
            if let wrapped = mirror.children.first?.value { collectUnsent(wrapped, in: node, path: path, into: &missing) }
            return
        }
        if let array = node.array, mirror.displayStyle == .collection {
            for (element, item) in zip(mirror.children.map(\.value), array) { collectUnsent(element, in: item, path: path + "[]", into: &missing) }
            return
        }
        guard mirror.displayStyle == .struct, String(reflecting: type(of: value)).hasPrefix("Corral"), let object = node.object else { return }
        for child in mirror.children {
            guard let label = child.label?.trimmingCharacters(in: ["_"]) else { continue }
            let name = renamed[label] ?? label.snakeCased
            if name.isEmpty { collectUnsent(child.value, in: node, path: path, into: &missing); continue }
            guard let field = object[name] else { missing.append("\(path).\(label) (as '\(name)')"); continue }
            collectUnsent(child.value, in: field, path: "\(path).\(name)", into: &missing)
        }
    }

    @Test("request schemas name exactly the fields the decoder accepts, aliases included")
    func requestFieldsMatch() throws {
        let components = SchemaValidator(document: try Self.document).components
        func properties(_ name: String) -> Set<String> { Set(components[name]?["properties"]?.object?.keys.map { $0 } ?? []) }
        #expect(properties("ExecuteRequest") == ExecuteRequest.fieldNames)
        #expect(properties("BatchItem") == ExecuteRequest.fieldNames)
        #expect(properties("ValidateRequest") == ValidateRequest.fieldNames)
        #expect(properties("BatchRequest") == BatchRequest.fieldNames)
        let decoded = Set(Mirror(reflecting: ExecuteRequest(code: "x", language: "py")).children.compactMap { $0.label?.snakeCased })
        #expect(decoded.isSubset(of: ExecuteRequest.fieldNames), "\(decoded.subtracting(ExecuteRequest.fieldNames))")
    }

    @Test("every field of the request schemas is decoded, aliases into their canonical field (a decoder that forgets one fails)")
    func everyRequestFieldIsDecoded() throws {
        let components = SchemaValidator(document: try Self.document).components
        /// A value of the property's type, which the decoder must carry through to the encoding.
        func sample(_ property: JSONNode) -> Any {
            let options = property["anyOf"]?.array ?? [property]
            let schema = options.first { $0["type"] != .string("null") } ?? property
            if let value = schema["enum"]?.array?.first(where: { $0 != .null })?.string { return value }
            let types = schema["type"]?.array?.compactMap(\.string) ?? schema["type"]?.string.map { [$0] } ?? []
            if types.contains("boolean") { return true }
            if types.contains("integer") { return 64 }
            if types.contains("number") { return 2.5 }
            if types.contains("array") { return ["a"] }
            if types.contains("object") { return ["A": "b"] }
            return "x"
        }
        for (component, decode) in [("ExecuteRequest", { (d: Data) throws -> any Encodable in try JSONDecoder().decode(ExecuteRequest.self, from: d) }),
                                    ("ValidateRequest", { try JSONDecoder().decode(ValidateRequest.self, from: $0) })] {
            let properties = try #require(components[component]?["properties"]?.object)
            for (name, property) in properties.sorted(by: { $0.key < $1.key }) where !["code", "language"].contains(name) {
                let value = sample(property)
                let body = try JSONSerialization.data(withJSONObject: ["code": "x", "language": "python", name: value])
                let encoded = try JSONNode.encode(try decode(body))
                let canonical = ExecuteRequest.aliases[name] ?? name
                let expected = try JSONNode.parse(JSONSerialization.data(withJSONObject: [value], options: .fragmentsAllowed)).array?.first
                #expect(encoded[canonical] == expected, "\(component).\(name): sent \(value), decoded as \(String(describing: encoded[canonical]))")
            }
        }
    }

    @Test("every $ref of the document resolves")
    func referencesResolve() throws {
        let document = try Self.document
        let components = SchemaValidator(document: document).components
        var dangling: [String] = []
        func walk(_ node: JSONNode) {
            switch node {
            case .object(let o):
                if let ref = o["$ref"]?.string, components[ref.replacingOccurrences(of: "#/components/schemas/", with: "")] == nil { dangling.append(ref) }
                o.values.forEach(walk)
            case .array(let a): a.forEach(walk)
            default: break
            }
        }
        walk(document)
        #expect(dangling.isEmpty, "\(dangling)")
    }

    @Test("the execute schema's bounds are exactly the limits ResourceLimits.validate accepts")
    func boundsMatchTheEngine() throws {
        let execute = try #require(SchemaValidator(document: try Self.document).components["ExecuteRequest"])
        func bounds(_ field: String) -> (Double, Double)? {
            let p = execute["properties"]?[field]
            guard let low = p?["minimum"]?.number, let high = p?["maximum"]?.number else { return nil }
            return (low, high)
        }
        func accepts(_ field: String, _ value: Double) -> Bool {
            var l = ResourceLimits()
            switch field {
            case "timeout_seconds": l.timeoutSeconds = value
            case "max_memory_mb": l.memoryMB = Int(value)
            case "max_output_size": l.outputBytes = Int(value)
            default: l.cpuPercent = Int(value)
            }
            return (try? l.validate()) != nil
        }
        for (field, step) in [("timeout_seconds", 0.000_001), ("max_memory_mb", 1), ("max_output_size", 1), ("cpu_percent", 1)] {
            let (low, high) = try #require(bounds(field), "\(field) has no bounds")
            #expect(accepts(field, low) && accepts(field, high), "\(field) \(low)...\(high)")
            #expect(!accepts(field, low - step) && !accepts(field, high + step), "\(field) \(low)...\(high) is narrower than the engine's")
        }
    }

    @Test("blank code: the decoder's set is trimmingCharacters' set, and the schema's pattern says the same")
    func blankScalars() {
        var disagreements: [UInt32] = []
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let text = String(Character(scalar))
            if RequestText.isBlank(text) != text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { disagreements.append(value) }
        }
        #expect(disagreements.isEmpty, "\(disagreements.map { String($0, radix: 16) })")
        for text in [" ", "\t\n", "\u{85}\u{A0}\u{3000}", "\u{2028}", "\u{200B}"] {
            #expect(!SchemaValidator.matches(text, RequestText.nonBlankPattern), "\(text.unicodeScalars.map(\.value))")
        }
        for text in ["x", " \u{1C} ", "\u{FEFF}", "\0"] {
            #expect(SchemaValidator.matches(text, RequestText.nonBlankPattern), "\(text.unicodeScalars.map(\.value))")
        }
    }

    @Test("language names match in any letter case, and nothing else")
    func languagePattern() {
        let pattern = RequestText.anyCasePattern(["python", "c++", "sqlite3"])
        for name in ["python", "PYTHON", "PyThOn", "c++", "C++", "sqlite3", "SQLite3"] { #expect(SchemaValidator.matches(name, pattern), "\(name)") }
        for name in ["", "pytho", "pythonx", "c+", "cc++", "sqlite"] { #expect(!SchemaValidator.matches(name, pattern), "\(name)") }
    }
}
