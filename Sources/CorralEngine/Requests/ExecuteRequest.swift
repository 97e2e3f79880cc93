import Foundation

/// Seed 000's `execute_code` payload, plus `args`, `priority`, `use_cache`, `cpu_percent`,
/// `profile` (seed 003) and the policy fields (`strict_mode`, `authorized_imports`).
/// Seed 003's names (`max_execution_time`, `max_cpu_percent`, `network_access`,
/// `file_system_access`, `environment`) are accepted for the same fields (`SeedAlias`).
public struct ExecuteRequest: Sendable, Codable {
    public var code: String
    public var language: String
    public var timeoutSeconds: Double?
    public var maxMemoryMb: Int?
    public var maxOutputSize: Int?
    /// CPU share over the whole run, in percent of one core (1…100 × the host's cores).
    public var cpuPercent: Int?
    public var allowNetwork: Bool?
    /// Whether the program may write its workspace; without it the workspace is read-only
    /// (seeds 000 and 003: default false). `/tmp` is writable either way.
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
        case cpuPercent = "cpu_percent"
        case allowNetwork = "allow_network"
        case allowFilesystem = "allow_filesystem"
        case environmentVars = "environment_vars"
        case stdinData = "stdin_data"
        case useCache = "use_cache"
        case strictMode = "strict_mode"
        case authorizedImports = "authorized_imports"
    }

    /// Seed 003's names of fields of seed 000 (or of Corral). A request gives one name per
    /// setting: an alias beside its canonical name is refused, whatever the two values.
    enum SeedAlias: String, CodingKey, CaseIterable {
        case maxExecutionTime = "max_execution_time"
        case maxCPUPercent = "max_cpu_percent"
        case networkAccess = "network_access"
        case fileSystemAccess = "file_system_access"
        case environment

        var canonical: CodingKeys {
            switch self {
            case .maxExecutionTime: .timeoutSeconds
            case .maxCPUPercent: .cpuPercent
            case .networkAccess: .allowNetwork
            case .fileSystemAccess: .allowFilesystem
            case .environment: .environmentVars
            }
        }
    }

    /// Every field name a request may carry.
    public static let fieldNames: Set<String> = Set(CodingKeys.allCases.map(\.rawValue) + SeedAlias.allCases.map(\.rawValue))

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let alias = try decoder.container(keyedBy: SeedAlias.self)
        code = try c.decode(String.self, forKey: .code)
        language = try c.decode(String.self, forKey: .language)
        timeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds)
            ?? alias.decodeIfPresent(Double.self, forKey: .maxExecutionTime)
        maxMemoryMb = try c.decodeIfPresent(Int.self, forKey: .maxMemoryMb)
        maxOutputSize = try c.decodeIfPresent(Int.self, forKey: .maxOutputSize)
        cpuPercent = try c.decodeIfPresent(Int.self, forKey: .cpuPercent) ?? alias.decodeIfPresent(Int.self, forKey: .maxCPUPercent)
        allowNetwork = try c.decodeIfPresent(Bool.self, forKey: .allowNetwork) ?? alias.decodeIfPresent(Bool.self, forKey: .networkAccess)
        allowFilesystem = try c.decodeIfPresent(Bool.self, forKey: .allowFilesystem)
            ?? alias.decodeIfPresent(Bool.self, forKey: .fileSystemAccess)
        environmentVars = try c.decodeIfPresent([String: String].self, forKey: .environmentVars)
            ?? alias.decodeIfPresent([String: String].self, forKey: .environment)
        stdinData = try c.decodeIfPresent(String.self, forKey: .stdinData)
        args = try c.decodeIfPresent([String].self, forKey: .args)
        priority = try c.decodeIfPresent(Priority.self, forKey: .priority)
        useCache = try c.decodeIfPresent(Bool.self, forKey: .useCache)
        profile = try c.decodeIfPresent(String.self, forKey: .profile)
        strictMode = try c.decodeIfPresent(Bool.self, forKey: .strictMode)
        authorizedImports = try c.decodeIfPresent([String].self, forKey: .authorizedImports)
        dependencies = try c.decodeIfPresent([String].self, forKey: .dependencies)
    }
}
