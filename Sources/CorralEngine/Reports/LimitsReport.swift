import CorralPolicy
import CorralSandbox

/// Seed 003 `get_resource_limits_info`: default limits, maxima and the named profiles.
public struct LimitsReport: Sendable, Encodable {
    public struct Limits: Sendable, Encodable {
        var maxExecutionTime: Double
        var maxMemoryMb: Int
        var maxFileSizeMb: Int
        var maxOutputSizeKb: Int
        var maxProcesses: Int
        var maxOpenFiles: Int
        var networkAccess: Bool
        var fileSystemAccess: Bool
        var policyMode: String?
        var description: String?
        var maxCPUPercent: Double?

        init(_ l: ResourceLimits, network: Bool, filesystem: Bool, policyMode: String? = nil, description: String? = nil,
             maxCPUPercent: Double? = nil) {
            self.description = description; self.maxCPUPercent = maxCPUPercent
            maxExecutionTime = l.timeoutSeconds; maxMemoryMb = l.memoryMB; maxFileSizeMb = l.fileSizeMB
            maxOutputSizeKb = l.outputBytes / 1024; maxProcesses = l.processes; maxOpenFiles = l.openFiles
            networkAccess = network; fileSystemAccess = filesystem; self.policyMode = policyMode
        }

        enum CodingKeys: String, CodingKey {
            case maxExecutionTime = "max_execution_time"
            case maxMemoryMb = "max_memory_mb"
            case maxFileSizeMb = "max_file_size_mb"
            case maxOutputSizeKb = "max_output_size_kb"
            case maxProcesses = "max_processes"
            case maxOpenFiles = "max_open_files"
            case networkAccess = "network_access"
            case fileSystemAccess = "file_system_access"
            case policyMode = "policy_mode"
            case description
            case maxCPUPercent = "max_cpu_percent"
        }
    }
    var status = "success"
    var defaultLimits: Limits
    var maximumLimits: Limits
    var recommendedLimits: [String: Limits]

    enum CodingKeys: String, CodingKey {
        case status
        case defaultLimits = "default_limits"
        case maximumLimits = "maximum_limits"
        case recommendedLimits = "recommended_limits"
    }
}

extension Engine {
    public func limits() -> LimitsReport {
        LimitsReport(
            defaultLimits: .init(configuration.defaultLimits, network: false, filesystem: true),
            maximumLimits: .init(configuration.maximumLimits, network: true, filesystem: true),
            recommendedLimits: configuration.profiles.mapValues {
                .init($0.limits, network: $0.allowNetwork, filesystem: $0.allowFilesystem, policyMode: $0.policy.mode.rawValue,
                      description: $0.description, maxCPUPercent: $0.maxCPUPercent)
            })
    }
}
