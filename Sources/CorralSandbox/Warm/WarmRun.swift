/// What a run brings to a warm jail: everything of a `JailSpec` that a jail started ahead of time
/// from a template can still take. The program's own request (argv, environment) travels in
/// `request`, read by the language's bootstrap from its stdin before the run's `stdin` follows.
public struct WarmRun: Sendable {
    /// Files written into the workspace at the hand-off.
    public var files: [JailFile]
    public var writableWorkspace: Bool
    public var limits: ResourceLimits
    /// Bytes the waiting program reads first (its bootstrap's framing; see `WarmRequestFrame`).
    public var request: [UInt8]
    /// Bytes fed to the program's standard input after `request`.
    public var stdin: [UInt8]
    /// Where output goes as it comes (see `JailSpec.onOutput`).
    public var onOutput: OutputSink?
    /// The program's argv and environment, for a fork-server's run (which gets them with its
    /// request, not on stdin: there `request` is unused).
    public var arguments: [String] = []
    public var environment: [(key: String, value: String)] = []

    public init(files: [JailFile], writableWorkspace: Bool, limits: ResourceLimits, request: [UInt8], stdin: [UInt8]) {
        self.files = files
        self.writableWorkspace = writableWorkspace
        self.limits = limits
        self.request = request
        self.stdin = stdin
    }
}

/// How a warm jail's bootstrap receives its run: a decimal byte count and a newline, then that
/// many bytes of NUL-terminated fields: the argument count, the environment's entry count, the
/// arguments, then the `KEY=VALUE` entries. Arguments and environments never hold NUL
/// (`JailLayout.validate` refuses them), so the fields cannot be confused, and a reader that
/// reads field by field (a shell's `read -d ''`) knows where the frame ends.
public enum WarmRequestFrame {
    public static func encode(arguments: [String], environment: [(key: String, value: String)]) -> [UInt8] {
        let fields = [String(arguments.count), String(environment.count)] + arguments + environment.map { "\($0.key)=\($0.value)" }
        let body = Array(fields.map { $0 + "\0" }.joined().utf8)
        return Array("\(body.count)\n".utf8) + body
    }
}

/// What became of a run handed to a warm jail.
public enum WarmOutcome: Sendable {
    /// The program got the run: its result.
    case ran(RunResult)
    /// The jail failed before the run began (nothing of it happened); why, for the pool's record.
    case fellBack(reason: String)
}
