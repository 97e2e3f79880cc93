import ArgumentParser
import CorralSandbox

/// Limit flags shared by every command that runs code.
/// `.unconditional`: a value that starts with '-' (`--memory -5`) is the flag's value, refused with
/// the range allowed, rather than read as an unknown flag and reported as a missing value.
struct LimitOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Wall-clock timeout in seconds (default 30, max 300).")
    var timeout: Double?
    @Option(parsing: .unconditional, help: "Memory limit in MB (default 512, max 2048).")
    var memory: Int?
    @Option(parsing: .unconditional, help: "Processes and threads (default 64).")
    var processes: Int?
    @Option(name: .customLong("output-limit"), parsing: .unconditional,
            help: "stdout+stderr bytes before the program is killed (default 1048576).")
    var outputLimit: Int?
    @Option(name: .customLong("file-size"), parsing: .unconditional, help: "Largest file the program may write, in MB (default 10).")
    var fileSize: Int?

    func resolved() throws -> ResourceLimits {
        var l = ResourceLimits()
        if let timeout { l.timeoutSeconds = timeout }
        if let memory { l.memoryMB = memory }
        if let processes { l.processes = processes }
        if let outputLimit { l.outputBytes = outputLimit }
        if let fileSize { l.fileSizeMB = fileSize }
        do { try l.validate() } catch { throw CLIFailure.usage(Self.message(for: error)) }
        return l
    }

    /// The flag a limit is set with, so the error names what the user typed.
    static let flags = [
        "timeout_seconds": "--timeout", "cpu_time_seconds": "--timeout", "max_memory_mb": "--memory",
        "processes": "--processes", "max_output_size": "--output-limit", "file_size_mb": "--file-size",
    ]

    /// `--timeout 1e+19 is out of range: allowed 0.001...300`.
    static func message(for error: SandboxError) -> String {
        guard case let .invalidLimit(name, value, allowed) = error, let flag = flags[name] else { return error.description }
        return "\(flag) \(SandboxError.formatLimit(value)) is out of range: allowed \(SandboxError.formatLimit(allowed.lowerBound))"
            + "...\(SandboxError.formatLimit(allowed.upperBound))"
    }
}
