import CorralPolicy
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
    /// Named limit profiles (seed 003, CorralPolicy's profiles.json); a request selects one with `profile`.
    public var profiles: [String: Profile] = Dictionary(
        ((try? ProfileCatalog.load())?.profiles ?? []).map { ($0.name, $0) }, uniquingKeysWith: { $1 })
    /// Static validation of requests that name no profile: `warn` returns findings with the result,
    /// `strict` refuses code with findings at or above `policyThreshold`, `off` skips analysis.
    public var policyMode: PolicyMode = .warn
    public var policyThreshold: Severity = .high
    /// The name this instance reports as `agent_id`.
    public var instanceID = "corral-" + (ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "local")

    public init() {}
}

