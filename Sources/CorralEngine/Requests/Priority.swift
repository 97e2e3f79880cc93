/// Seed 000's task priority; orders the admission queue.
public enum Priority: Int, Sendable, Comparable, Codable, CaseIterable {
    case low = 0, medium = 1, high = 2, critical = 3

    public var name: String {
        switch self {
        case .low: "LOW"
        case .medium: "MEDIUM"
        case .high: "HIGH"
        case .critical: "CRITICAL"
        }
    }

    public init?(name: String) {
        guard let p = Self.allCases.first(where: { $0.name == name.uppercased() }) else { return nil }
        self = p
    }

    public static func < (a: Priority, b: Priority) -> Bool { a.rawValue < b.rawValue }

    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let p = Priority(name: name) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "priority must be one of LOW, MEDIUM, HIGH, CRITICAL, not '\(name)'"))
        }
        self = p
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(name)
    }
}
