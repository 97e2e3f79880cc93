/// Seed 000's `validate_code` payload, plus seed 003's `strict_mode`, seed 004's
/// `authorized_imports`, a `profile` and a severity `threshold`.
public struct ValidateRequest: Sendable, Codable {
    public var code: String
    public var language: String
    public var allowNetwork: Bool?
    public var allowFilesystem: Bool?
    /// Validation always judges as strict mode does (`is_safe` is the strict verdict): `true` says
    /// so and is accepted, `false` is refused (`checkShape`) rather than silently ignored.
    public var strictMode: Bool?
    public var authorizedImports: [String]?
    public var profile: String?
    /// `low`, `medium`, `high` or `critical`: findings at or above it make the code unsafe.
    public var threshold: String?

    public init(code: String, language: String) { self.code = code; self.language = language }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case code, language, profile, threshold
        case allowNetwork = "allow_network"
        case allowFilesystem = "allow_filesystem"
        case strictMode = "strict_mode"
        case authorizedImports = "authorized_imports"
    }

    public static let fieldNames: Set<String> = Set(CodingKeys.allCases.map(\.rawValue))
}
