import CorralSandbox

/// A named set of limits, network/filesystem flags and policy (seed 003's
/// `development`, `testing`, `production`). Requests name one with `profile`.
public struct Profile: Sendable, Codable, Hashable {
    /// How validation findings are treated under this profile.
    public struct PolicySettings: Sendable, Codable, Hashable {
        public var mode: PolicyMode
        public var threshold: Severity
        /// Seed 004's allow-list of imports; `nil` allows every import.
        public var authorizedImports: [String]?

        public init(mode: PolicyMode, threshold: Severity = .defaultThreshold, authorizedImports: [String]? = nil) {
            self.mode = mode
            self.threshold = threshold
            self.authorizedImports = authorizedImports
        }

        enum CodingKeys: String, CodingKey {
            case mode, threshold
            case authorizedImports = "authorized_imports"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            mode = try c.decode(PolicyMode.self, forKey: .mode)
            threshold = try c.decodeIfPresent(Severity.self, forKey: .threshold) ?? .defaultThreshold
            authorizedImports = try c.decodeIfPresent([String].self, forKey: .authorizedImports)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(mode, forKey: .mode)
            try c.encode(threshold, forKey: .threshold)
            try c.encode(authorizedImports, forKey: .authorizedImports)
        }
    }

    public var name: String
    public var description: String
    /// The run's limits; fields the data file leaves out keep `ResourceLimits()`'s defaults.
    /// Seed 003's `max_cpu_percent` is the CPU share, `limits.cpuPercent`, enforced by the sandbox.
    public var limits: ResourceLimits
    /// Seed 003's CPU share in percent of one core (`limits.cpuPercent`); nil means the default (100).
    public var maxCPUPercent: Double? { limits.cpuPercent.map(Double.init) }
    public var allowNetwork: Bool
    public var allowFilesystem: Bool
    public var policy: PolicySettings

    public init(name: String, description: String, limits: ResourceLimits, maxCPUPercent: Double? = nil,
                allowNetwork: Bool, allowFilesystem: Bool, policy: PolicySettings) {
        self.name = name
        self.description = description
        self.limits = limits
        if let maxCPUPercent, maxCPUPercent.isFinite, let share = Int(exactly: maxCPUPercent.rounded()) {
            self.limits.cpuPercent = share
        }
        self.allowNetwork = allowNetwork
        self.allowFilesystem = allowFilesystem
        self.policy = policy
    }

    /// The validation options this profile implies.
    public var validationOptions: ValidationOptions {
        ValidationOptions(allowNetwork: allowNetwork, allowFilesystem: allowFilesystem,
                          authorizedImports: policy.authorizedImports, threshold: policy.threshold)
    }

    enum CodingKeys: String, CodingKey {
        case name, description, limits, policy
        case maxCPUPercent = "max_cpu_percent"
        case allowNetwork = "allow_network"
        case allowFilesystem = "allow_filesystem"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        description = try c.decodeIfPresent(String.self, forKey: .description) ?? ""
        limits = try c.decodeIfPresent(LimitsDocument.self, forKey: .limits)?.limits ?? ResourceLimits()
        if let share = try c.decodeIfPresent(Double.self, forKey: .maxCPUPercent) {
            guard share.isFinite, let whole = Int(exactly: share) else {
                throw DecodingError.dataCorruptedError(forKey: .maxCPUPercent, in: c,
                    debugDescription: "max_cpu_percent must be a whole number of percent of one core, got \(share)")
            }
            limits.cpuPercent = whole
        }
        allowNetwork = try c.decodeIfPresent(Bool.self, forKey: .allowNetwork) ?? false
        allowFilesystem = try c.decodeIfPresent(Bool.self, forKey: .allowFilesystem) ?? false
        policy = try c.decodeIfPresent(PolicySettings.self, forKey: .policy) ?? PolicySettings(mode: .warn)
    }

    /// Encodes every field, limits in full and in seed 000's snake_case names.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(description, forKey: .description)
        try c.encode(LimitsDocument(limits), forKey: .limits)
        try c.encode(maxCPUPercent, forKey: .maxCPUPercent)
        try c.encode(allowNetwork, forKey: .allowNetwork)
        try c.encode(allowFilesystem, forKey: .allowFilesystem)
        try c.encode(policy, forKey: .policy)
    }
}
