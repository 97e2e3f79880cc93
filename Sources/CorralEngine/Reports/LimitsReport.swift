import CorralPolicy
import CorralSandbox

/// Seed 003 `get_resource_limits_info`: default limits, maxima and the named profiles.
public struct LimitsReport: Sendable, Encodable {
    /// One set of limits in seed 003's names. `policy_mode` and `description` are a profile's.
    public struct Limits: Sendable, Encodable {
        var maxExecutionTime: Double
        var maxMemoryMb: Int
        var maxCPUPercent: Int
        var maxFileSizeMb: Int
        var maxOutputSizeKb: Int
        var maxProcesses: Int
        var maxOpenFiles: Int
        var networkAccess: Bool
        var fileSystemAccess: Bool
        var policyMode: PolicyMode?
        var description: String?

        init(_ l: ResourceLimits, network: Bool, filesystem: Bool, policyMode: PolicyMode? = nil, description: String? = nil) {
            maxExecutionTime = l.timeoutSeconds; maxMemoryMb = l.memoryMB; maxCPUPercent = l.effectiveCPUPercent
            maxFileSizeMb = l.fileSizeMB; maxOutputSizeKb = l.outputBytes / 1024; maxProcesses = l.processes
            maxOpenFiles = l.openFiles; networkAccess = network; fileSystemAccess = filesystem
            self.policyMode = policyMode; self.description = description
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case maxExecutionTime = "max_execution_time"
            case maxMemoryMb = "max_memory_mb"
            case maxCPUPercent = "max_cpu_percent"
            case maxFileSizeMb = "max_file_size_mb"
            case maxOutputSizeKb = "max_output_size_kb"
            case maxProcesses = "max_processes"
            case maxOpenFiles = "max_open_files"
            case networkAccess = "network_access"
            case fileSystemAccess = "file_system_access"
            case policyMode = "policy_mode"
            case description
        }
    }

    var status = ReportStatus.success
    var defaultLimits: Limits
    var maximumLimits: Limits
    var recommendedLimits: [String: Limits]

    enum CodingKeys: String, CodingKey, CaseIterable {
        case status
        case defaultLimits = "default_limits"
        case maximumLimits = "maximum_limits"
        case recommendedLimits = "recommended_limits"
    }
}

extension Engine {
    /// The defaults are what a request naming nothing gets: no network, a read-only workspace
    /// (seeds 000 and 003); the maxima are what a request may ask for.
    public func limits() -> LimitsReport {
        LimitsReport(
            defaultLimits: .init(configuration.defaultLimits, network: false, filesystem: false),
            maximumLimits: .init(configuration.maximumLimits, network: true, filesystem: true),
            recommendedLimits: configuration.profiles.mapValues {
                .init($0.limits, network: $0.allowNetwork, filesystem: $0.allowFilesystem, policyMode: $0.policy.mode,
                      description: $0.description)
            })
    }
}
