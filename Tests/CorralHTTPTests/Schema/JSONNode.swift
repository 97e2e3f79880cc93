import Foundation

/// JSON as it was sent, with `true` and `1` kept apart (Foundation's `JSONSerialization` gives
/// both as `NSNumber`), for checking bodies against their schemas.
indirect enum JSONNode: Decodable, Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONNode])
    case object([String: JSONNode])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONNode].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONNode].self)) }
    }

    static func parse(_ data: Data) throws -> JSONNode { try JSONDecoder().decode(JSONNode.self, from: data) }

    static func encode(_ value: some Encodable) throws -> JSONNode {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return try parse(encoder.encode(value))
    }

    subscript(key: String) -> JSONNode? { if case .object(let o) = self { o[key] } else { nil } }
    var object: [String: JSONNode]? { if case .object(let o) = self { o } else { nil } }
    var array: [JSONNode]? { if case .array(let a) = self { a } else { nil } }
    var string: String? { if case .string(let s) = self { s } else { nil } }
    var number: Double? { if case .number(let d) = self { d } else { nil } }
    var bool: Bool? { if case .bool(let b) = self { b } else { nil } }

    var description: String {
        switch self {
        case .null: "null"
        case .bool(let b): "\(b)"
        case .number(let d): "\(d)"
        case .string(let s): "\"\(s.prefix(60))\""
        case .array(let a): "[\(a.count) items]"
        case .object(let o): "{\(o.keys.sorted().joined(separator: ", "))}"
        }
    }
}
