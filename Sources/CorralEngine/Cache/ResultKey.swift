import CorralRuntimes
import CorralSandbox

/// The result cache's key: one function over every input that can change a run's result. A hit
/// replays a stored result instead of running, so an input missing here answers one request
/// with another's result.
enum ResultKey {
    /// Bumped whenever the inputs change, so that no entry of an older layout is found again.
    /// v1 left out the CPU share, the program's other files and the compiler options.
    static let version = "corral-result-v2"

    /// The key of `prepared`'s result, as a hex SHA-256. Not inputs, on purpose: the policy mode
    /// and findings (a refused run is never cached; findings are computed afresh each time). The
    /// caller is, through `cacheNamespace`: a program's output need not depend on it alone.
    static func make(_ prepared: PreparedRequest, toolchainVersion: String) -> String {
        let run = prepared.run
        var h = SHA256()
        // What the rest is laid out by; a new layout must not collide with an old one.
        h.field(version)
        // The interpreter or compiler that runs the code, and its version: an upgrade may print otherwise.
        h.field(prepared.language.name)
        h.field(toolchainVersion)
        // The program: its main source (hashed once in `prepare`), its other files (sorted, with
        // their bytes and exec bit) and the compiler's options; each list counted so that no two
        // lists collide.
        h.field(prepared.codeHash)
        h.field(run.extraFiles)
        h.field("compiler options \(run.compilerOptions.count)")
        run.compilerOptions.forEach { h.field($0) }
        // What the program reads: standard input, environment (sorted by `prepare`), arguments.
        h.field(run.stdin)
        h.field("env \(run.environment.count)")
        for (key, value) in run.environment { h.field(key); h.field(value) }
        h.field("args \(run.arguments.count)")
        run.arguments.forEach { h.field($0) }
        // Every limit: any of them can end the run early (timeout, memory, output, processes, file
        // size, open files, workspace and /tmp space) or change what it prints (CPU share and time).
        h.field("limits")
        for (name, value) in limitFields(run.limits) { h.field("\(name)=\(value)") }
        if let compile = run.compileLimits {
            h.field("compile limits")
            for (name, value) in limitFields(compile) { h.field("\(name)=\(value)") }
        }
        // Whether the program can reach the network and write its workspace.
        h.field("network=\(run.network)")
        h.field("writable workspace=\(run.writableWorkspace)")
        // Defence in depth, as in the compile cache: a namespace separates tenants' entries.
        h.field(run.cacheNamespace.map { "namespace \($0)" } ?? "shared")
        return h.hexDigest()
    }

    /// Each limit by name with the value the jail applies (nil CPU fields resolved to their effect).
    static func limitFields(_ l: ResourceLimits) -> [(String, String)] {
        [
            ("timeout_seconds", "\(l.timeoutSeconds)"),
            ("cpu_time_seconds", "\(l.effectiveCPUSeconds)"),
            ("max_memory_mb", "\(l.memoryMB)"),
            ("processes", "\(l.processes)"),
            ("max_output_size", "\(l.outputBytes)"),
            ("file_size_mb", "\(l.fileSizeMB)"),
            ("open_files", "\(l.openFiles)"),
            ("workspace_mb", "\(l.workspaceMB)"),
            ("tmp_mb", "\(l.tmpMB)"),
            ("cpu_percent", "\(l.effectiveCPUPercent)"),
        ]
    }
}
