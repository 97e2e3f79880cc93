import CorralSandbox

/// The limits of a compile stage. A compile runs for the request, so it gets the request's
/// limits: raised to the language's floors (`minimum_compile_limits`, what its toolchain needs
/// to compile a small program) and capped at `maximum`, whatever the request or the catalog ask.
/// docs/languages.md has the table.
public enum CompileLimits {
    /// The most a compile stage ever gets. Bounds what one request can hold through its compiler
    /// (the catalog's floors included); a compile that needs more fails with the limit named.
    public static let maximum: ResourceLimits = {
        var m = ResourceLimits()
        m.timeoutSeconds = 120
        m.cpuTimeSeconds = 120
        m.memoryMB = 2048
        m.processes = 256
        m.outputBytes = 4 << 20
        // Artifacts land on a tmpfs of `Runtime.compileOutputMB`: no single file can be larger.
        m.fileSizeMB = Runtime.compileOutputMB
        m.openFiles = 1024
        m.workspaceMB = 256
        m.tmpMB = 1024
        // A compiler may use every core the request's share allows (make -j, rustc codegen units).
        m.cpuPercent = ResourceLimits.maximum.cpuPercent
        return m
    }()

    /// The compile stage's limits for `request` in `language`: `request.compileLimits` if set,
    /// else the request's own limits; raised to the language's floors; capped at `maximum`.
    static func resolve(_ request: RunRequest, language: Language) -> ResourceLimits {
        var limits = request.compileLimits ?? request.limits
        if let floors = language.minimumCompileLimits { limits = floors.raise(limits) }
        return limits.capped(at: maximum)
    }

    /// What a user reads when a compile stage stopped at `kind`: the limit, its value, and what to change.
    static func stoppedMessage(_ kind: LimitKind, limits: ResourceLimits) -> String {
        let m = maximum
        let (limit, field, atMaximum): (String, String, Bool)
        switch kind {
        case .wallTime:
            (limit, field, atMaximum) = ("wall time limit of \(format(limits.timeoutSeconds)) s exceeded", "timeout_seconds",
                                         limits.timeoutSeconds >= m.timeoutSeconds)
        case .cpuTime:
            (limit, field, atMaximum) = ("CPU time limit of \(format(limits.effectiveCPUSeconds)) s exceeded", "timeout_seconds",
                                         limits.effectiveCPUSeconds >= m.effectiveCPUSeconds)
        case .memory:
            (limit, field, atMaximum) = ("memory limit of \(limits.memoryMB) MB exceeded", "max_memory_mb", limits.memoryMB >= m.memoryMB)
        case .output:
            (limit, field, atMaximum) = ("output limit of \(limits.outputBytes) bytes exceeded", "max_output_size",
                                         limits.outputBytes >= m.outputBytes)
        case .processes:
            (limit, field, atMaximum) = ("process limit of \(limits.processes) reached", "processes", limits.processes >= m.processes)
        case .fileSize:
            (limit, field, atMaximum) = ("file size limit of \(limits.fileSizeMB) MB exceeded", "file_size_mb",
                                         limits.fileSizeMB >= m.fileSizeMB)
        case .openFiles:
            (limit, field, atMaximum) = ("open files limit of \(limits.openFiles) reached", "open_files", limits.openFiles >= m.openFiles)
        }
        let hint = atMaximum
            ? "that is the most any compile gets (docs/languages.md, compile limits): make the program smaller or simpler to compile"
            : "the compiler runs under the request's limits, raised to the language's floors: raise \(field)"
        return "compile stage stopped: \(limit); \(hint)"
    }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}
