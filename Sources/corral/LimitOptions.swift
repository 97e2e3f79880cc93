import ArgumentParser
import CorralEngine

/// Limit flags shared by every command that runs code. The engine checks them, with every
/// other request's limits; its errors are reported under these flags' names.
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
    @Option(name: .customLong("cpu-percent"), parsing: .unconditional,
            help: "CPU share in percent of one core (default 100, max 100 per core).")
    var cpuPercent: Int?

    /// The limits asked for; the engine applies them over the profile's or the defaults.
    var overrides: LimitOverrides {
        LimitOverrides(timeoutSeconds: timeout, memoryMB: memory, outputBytes: outputLimit, processes: processes,
                       fileSizeMB: fileSize, cpuPercent: cpuPercent)
    }

    /// The flag a limit is set with, so the error names what the user typed.
    static let flags = [
        "timeout_seconds": "--timeout", "cpu_time_seconds": "--timeout", "max_memory_mb": "--memory",
        "processes": "--processes", "max_output_size": "--output-limit", "file_size_mb": "--file-size",
        "cpu_percent": "--cpu-percent",
    ]
}
