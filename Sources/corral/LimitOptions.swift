import ArgumentParser
import CorralSandbox

/// Limit flags shared by every command that runs code.
struct LimitOptions: ParsableArguments {
    @Option(help: "Wall-clock timeout in seconds (default 30, max 300).")
    var timeout: Double?
    @Option(help: "Memory limit in MB (default 512, max 2048).")
    var memory: Int?
    @Option(help: "Processes and threads (default 64).")
    var processes: Int?
    @Option(name: .customLong("output-limit"), help: "stdout+stderr bytes before the program is killed (default 1048576).")
    var outputLimit: Int?
    @Option(name: .customLong("file-size"), help: "Largest file the program may write, in MB (default 10).")
    var fileSize: Int?

    func resolved() throws -> ResourceLimits {
        var l = ResourceLimits()
        if let timeout { l.timeoutSeconds = timeout }
        if let memory { l.memoryMB = memory }
        if let processes { l.processes = processes }
        if let outputLimit { l.outputBytes = outputLimit }
        if let fileSize { l.fileSizeMB = fileSize }
        do { try l.validate() } catch { throw CLIFailure.usage(error.description) }
        return l
    }
}
