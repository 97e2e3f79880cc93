import Glibc

/// The hard limits of one run. Defaults and maxima follow seed 000
/// (`execute_code`): a request above a maximum is an error, never clamped.
public struct ResourceLimits: Sendable, Hashable, Codable {
    /// Wall-clock timeout in seconds.
    public var timeoutSeconds: Double = 30
    /// CPU time in seconds over all processes of the run; `nil` means the wall timeout.
    public var cpuTimeSeconds: Double? = nil
    /// Memory (RSS + page cache + tmpfs written) in MiB; swap is 0.
    public var memoryMB: Int = 512
    /// Processes and threads alive at once.
    public var processes: Int = 64
    /// stdout + stderr bytes kept; the program is killed when it writes more.
    public var outputBytes: Int = 1 << 20
    /// Largest file the program may write, in MiB.
    public var fileSizeMB: Int = 10
    /// Open file descriptors per process.
    public var openFiles: Int = 256
    /// Size of the writable workspace (a tmpfs), in MiB.
    public var workspaceMB: Int = 256
    /// Size of `/tmp` (a tmpfs), in MiB.
    public var tmpMB: Int = 64
    /// CPU share over all processes of the run, in percent of one core (seed 003's `max_cpu_percent`),
    /// enforced with the cgroup CPU quota; `nil` means 100 (one core). At most 100 × the host's cores.
    public var cpuPercent: Int? = nil

    public init() {}

    /// The largest value a request may ask for.
    public static let maximum: ResourceLimits = {
        var m = ResourceLimits()
        m.timeoutSeconds = 300
        m.cpuTimeSeconds = 300
        m.memoryMB = 2048
        m.processes = 1024
        m.outputBytes = 64 << 20
        m.fileSizeMB = 1024
        m.openFiles = 4096
        m.workspaceMB = 4096
        m.tmpMB = 1024
        m.cpuPercent = 100 * ResourceLimits.hostCores
        return m
    }()

    /// Cores of this host (the CPU share's upper bound is all of them).
    public static let hostCores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// The CPU share actually applied, in percent of one core.
    public var effectiveCPUPercent: Int { cpuPercent ?? 100 }

    /// CPU time limit actually applied.
    public var effectiveCPUSeconds: Double { cpuTimeSeconds ?? timeoutSeconds }

    /// Throws a `SandboxError.invalidLimit` naming the first limit out of range.
    /// Zero is out of range for every limit: a zero cap is a mistaken request, not "none allowed".
    public func validate(against max: ResourceLimits = .maximum) throws(SandboxError) {
        func check(_ name: String, _ value: Double, _ lower: Double, _ upper: Double) throws(SandboxError) {
            guard value.isFinite, value >= lower, value <= upper else {
                throw .invalidLimit(name: name, value: value, allowed: lower...upper)
            }
        }
        try check("timeout_seconds", timeoutSeconds, 0.001, max.timeoutSeconds)
        try check("cpu_time_seconds", effectiveCPUSeconds, 0.001, max.effectiveCPUSeconds)
        try check("max_memory_mb", Double(memoryMB), 16, Double(max.memoryMB))
        try check("processes", Double(processes), 1, Double(max.processes))
        try check("max_output_size", Double(outputBytes), 1, Double(max.outputBytes))
        try check("file_size_mb", Double(fileSizeMB), 1, Double(max.fileSizeMB))
        try check("open_files", Double(openFiles), 8, Double(max.openFiles))
        try check("workspace_mb", Double(workspaceMB), 1, Double(max.workspaceMB))
        try check("tmp_mb", Double(tmpMB), 1, Double(max.tmpMB))
        try check("cpu_percent", Double(effectiveCPUPercent), 1, Double(max.effectiveCPUPercent))
    }
}

extension ResourceLimits {
    /// Every limit at most `maximum`'s.
    public func capped(at maximum: ResourceLimits) -> ResourceLimits {
        var l = self
        l.timeoutSeconds = min(l.timeoutSeconds, maximum.timeoutSeconds)
        if let cpu = l.cpuTimeSeconds { l.cpuTimeSeconds = min(cpu, maximum.effectiveCPUSeconds) }
        l.memoryMB = min(l.memoryMB, maximum.memoryMB)
        l.processes = min(l.processes, maximum.processes)
        l.outputBytes = min(l.outputBytes, maximum.outputBytes)
        l.fileSizeMB = min(l.fileSizeMB, maximum.fileSizeMB)
        l.openFiles = min(l.openFiles, maximum.openFiles)
        l.workspaceMB = min(l.workspaceMB, maximum.workspaceMB)
        l.tmpMB = min(l.tmpMB, maximum.tmpMB)
        if let share = l.cpuPercent { l.cpuPercent = min(share, maximum.effectiveCPUPercent) }
        return l
    }
}
