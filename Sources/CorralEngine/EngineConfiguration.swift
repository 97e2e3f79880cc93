import CorralSandbox
import CorralStore
import Foundation

/// Everything the engine's behaviour depends on, with defaults for a single machine.
public struct EngineConfiguration: Sendable {
    /// Jails running at once (default: the number of cores).
    public var workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// Requests waiting for a jail before new ones are refused with `queue_full`.
    public var queueCapacity = max(1, ProcessInfo.processInfo.activeProcessorCount) * 32
    /// Limits of a request that names none.
    public var defaultLimits = ResourceLimits()
    /// The most a request may ask for.
    public var maximumLimits = ResourceLimits.maximum
    /// Largest `code`, in bytes.
    public var maxCodeBytes = 1 << 20
    /// Largest `stdin_data`, in bytes.
    public var maxStdinBytes = 8 << 20
    /// Result cache time to live, in seconds (seed 000 `cache_ttl_seconds`).
    public var cacheTTLSeconds: Double = 3600
    public var cacheEnabled = true
    /// History retention.
    public var retention = RetentionPolicy()
    /// Named limit profiles (seed 003); a request selects one with `profile`.
    public var profiles: [String: ExecutionProfile] = ExecutionProfile.seedProfiles
    /// The name this instance reports as `agent_id`.
    public var instanceID = "corral-" + (ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "local")

    public init() {}
}

/// A named set of limits and permissions (seed 003's development/testing/production).
public struct ExecutionProfile: Sendable, Codable, Equatable {
    public var limits: ResourceLimits
    public var allowNetwork: Bool
    public var allowFilesystem: Bool
    /// Static validation mode: `off`, `warn` or `strict`.
    public var policyMode: String

    public init(limits: ResourceLimits, allowNetwork: Bool, allowFilesystem: Bool, policyMode: String) {
        self.limits = limits; self.allowNetwork = allowNetwork; self.allowFilesystem = allowFilesystem
        self.policyMode = policyMode
    }

    /// Seed 003's table: development is permissive, testing tight, production strict.
    public static let seedProfiles: [String: ExecutionProfile] = {
        func limits(_ timeout: Double, _ memory: Int) -> ResourceLimits {
            var l = ResourceLimits(); l.timeoutSeconds = timeout; l.memoryMB = memory; return l
        }
        return [
            "development": ExecutionProfile(limits: limits(60, 1024), allowNetwork: true, allowFilesystem: true, policyMode: "warn"),
            "testing": ExecutionProfile(limits: limits(10, 256), allowNetwork: false, allowFilesystem: false, policyMode: "warn"),
            "production": ExecutionProfile(limits: limits(30, 512), allowNetwork: false, allowFilesystem: false, policyMode: "strict"),
        ]
    }()
}
