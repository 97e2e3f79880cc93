import Foundation

/// Seed 000's `execute_code` payload, plus `args`, `priority`, `use_cache`,
/// `profile` (seed 003) and the policy fields (`strict_mode`, `authorized_imports`).
public struct ExecuteRequest: Sendable, Codable {
    public var code: String
    public var language: String
    public var timeoutSeconds: Double?
    public var maxMemoryMb: Int?
    public var maxOutputSize: Int?
    public var allowNetwork: Bool?
    public var allowFilesystem: Bool?
    public var environmentVars: [String: String]?
    public var stdinData: String?
    public var args: [String]?
    public var priority: Priority?
    public var useCache: Bool?
    public var profile: String?
    public var strictMode: Bool?
    public var authorizedImports: [String]?
    /// Seed 000 marks it "future": a non-empty list is refused rather than silently ignored.
    public var dependencies: [String]?

    public init(code: String, language: String) {
        self.code = code
        self.language = language
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case code, language, args, priority, profile, dependencies
        case timeoutSeconds = "timeout_seconds"
        case maxMemoryMb = "max_memory_mb"
        case maxOutputSize = "max_output_size"
        case allowNetwork = "allow_network"
        case allowFilesystem = "allow_filesystem"
        case environmentVars = "environment_vars"
        case stdinData = "stdin_data"
        case useCache = "use_cache"
        case strictMode = "strict_mode"
        case authorizedImports = "authorized_imports"
    }

    /// Every field name a request may carry.
    public static let fieldNames: Set<String> = Set(CodingKeys.allCases.map(\.rawValue))
}
