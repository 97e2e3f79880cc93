import CorralPolicy
import CorralSandbox

/// The limits a request asks for; nil keeps the profile's, or else the configured default.
/// `ExecuteRequest` carries some of them on the wire; a local front end (the CLI) may set any.
public struct LimitOverrides: Sendable, Hashable {
    /// Wall-clock timeout in seconds; the CPU time limit follows it.
    public var timeoutSeconds: Double?
    public var memoryMB: Int?
    public var outputBytes: Int?
    public var processes: Int?
    public var fileSizeMB: Int?
    /// CPU share in percent of one core, 1…100 × `ResourceLimits.hostCores`.
    public var cpuPercent: Int?

    public init(timeoutSeconds: Double? = nil, memoryMB: Int? = nil, outputBytes: Int? = nil, processes: Int? = nil,
                fileSizeMB: Int? = nil, cpuPercent: Int? = nil) {
        self.timeoutSeconds = timeoutSeconds; self.memoryMB = memoryMB; self.outputBytes = outputBytes
        self.processes = processes; self.fileSizeMB = fileSizeMB; self.cpuPercent = cpuPercent
    }

    /// These overrides with `other`'s set values on top.
    func merged(with other: LimitOverrides) -> LimitOverrides {
        LimitOverrides(timeoutSeconds: other.timeoutSeconds ?? timeoutSeconds, memoryMB: other.memoryMB ?? memoryMB,
                       outputBytes: other.outputBytes ?? outputBytes, processes: other.processes ?? processes,
                       fileSizeMB: other.fileSizeMB ?? fileSizeMB, cpuPercent: other.cpuPercent ?? cpuPercent)
    }

    /// `base` with these overrides applied.
    func applied(to base: ResourceLimits) -> ResourceLimits {
        var limits = base
        if let timeoutSeconds {
            limits.timeoutSeconds = timeoutSeconds
            limits.cpuTimeSeconds = nil
        }
        if let memoryMB { limits.memoryMB = memoryMB }
        if let outputBytes { limits.outputBytes = outputBytes }
        if let processes { limits.processes = processes }
        if let fileSizeMB { limits.fileSizeMB = fileSizeMB }
        if let cpuPercent { limits.cpuPercent = cpuPercent }
        return limits
    }
}

extension RequestResolver {
    /// The run's limits: the profile's (or the configured defaults), then the request's, checked
    /// against the configured maxima. Out of range is an error naming the limit, never clamped.
    func limits(profile: Profile?, overrides: LimitOverrides) throws(EngineError) -> ResourceLimits {
        // A profile or default above the server's maxima is the operator's setting, not the caller's
        // mistake: it is lowered to the maximum. What the request itself asks for is checked as given.
        let base = (profile?.limits ?? configuration.defaultLimits).capped(at: configuration.maximumLimits)
        let limits = overrides.applied(to: base)
        do throws(SandboxError) { try limits.validate(against: configuration.maximumLimits) } catch { throw EngineError(error) }
        return limits
    }
}
