/// Everything one run of the sandbox needs: what to execute, the files to
/// place in its workspace, what of the host it may see, and its limits.
/// The sandbox knows nothing of languages: runtimes build a `JailSpec`.
/// Receives a run's output as the jail writes it: `stdout` or `stderr`, and the bytes (those kept
/// under the output cap). Called on the run's supervising thread: it must not block.
public typealias OutputSink = @Sendable (_ stream: String, _ bytes: [UInt8]) -> Void

public struct JailSpec: Sendable {
    /// Where output goes as it comes (a streamed run); the result holds all of it anyway.
    public var onOutput: OutputSink?
    /// argv; `argv[0]` is searched in the jail's `PATH` unless it contains a `/`.
    public var arguments: [String]
    /// The program's whole environment (the host's is never inherited).
    public var environment: [(key: String, value: String)]
    /// Files written into the workspace before the program starts.
    public var files: [JailFile]
    /// Host paths the program may read (bound read-only, `nosuid,nodev`), besides the base system.
    public var readOnlyPaths: [String]
    /// A host directory bound at `/out`: read-write for a compile (the host reads it back as
    /// hostile input), read-only for running its artifacts.
    public var outputDirectory: String?
    public var outputReadOnly = false
    /// Bytes fed to the program's standard input.
    public var stdin: [UInt8]
    public var limits: ResourceLimits
    /// Outbound network through a user-mode stack; the host's loopback stays unreachable.
    public var network: Bool
    /// Whether the workspace is writable (it always exists; `/tmp` is always writable).
    public var writableWorkspace: Bool
    /// A host directory bound at `/workspace` instead of the jail's own tmpfs (a session's
    /// `SessionWorkspace`, which outlives its jail's processes and is read from the host).
    /// Its files are the host's to write: `files` must then be empty.
    public var workspaceDirectory: String?
    public var workingDirectory: String

    /// Where the workspace appears inside the jail.
    public static let workspacePath = "/workspace"

    public init(
        arguments: [String],
        environment: [(key: String, value: String)] = [],
        files: [JailFile] = [],
        readOnlyPaths: [String] = [],
        outputDirectory: String? = nil,
        stdin: [UInt8] = [],
        limits: ResourceLimits = ResourceLimits(),
        network: Bool = false,
        writableWorkspace: Bool = true,
        workingDirectory: String = JailSpec.workspacePath
    ) {
        self.arguments = arguments
        self.environment = environment
        self.files = files
        self.readOnlyPaths = readOnlyPaths
        self.outputDirectory = outputDirectory
        self.stdin = stdin
        self.limits = limits
        self.network = network
        self.writableWorkspace = writableWorkspace
        self.workingDirectory = workingDirectory
    }

    /// The environment every program starts from; requests add to it.
    public static let baseEnvironment: [(key: String, value: String)] = [
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ("HOME", JailSpec.workspacePath),
        ("LANG", "C.UTF-8"),
        ("TMPDIR", "/tmp"),
        ("USER", "corral"),
    ]
}

/// One file placed in the workspace before the program starts.
public struct JailFile: Sendable, Hashable {
    /// Relative to the workspace; no `..`, no leading `/`.
    public var path: String
    public var contents: [UInt8]
    public var executable: Bool

    public init(path: String, contents: [UInt8], executable: Bool = false) {
        self.path = path
        self.contents = contents
        self.executable = executable
    }
}
