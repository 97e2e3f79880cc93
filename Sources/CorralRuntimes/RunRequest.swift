import CorralSandbox

/// A language-level request: what a front end asks the runtimes to run.
public struct RunRequest: Sendable {
    public var language: String
    /// The program: its main source, plus any other files of a multi-file program.
    public var code: String
    public var extraFiles: [JailFile]
    public var arguments: [String]
    public var stdin: [UInt8]
    /// The program's output as it comes (not the compiler's); the result holds all of it anyway.
    public var onOutput: OutputSink?
    public var environment: [(key: String, value: String)]
    public var limits: ResourceLimits
    public var network: Bool
    /// Whether the program may write its workspace (`/tmp` is always writable).
    public var writableWorkspace = true
    /// Extra compiler options, passed literally after the sources.
    public var compilerOptions: [String] = []
    /// Limits of the compile stage instead of `limits`; either way raised to the language's
    /// floors and capped at `CompileLimits.maximum`.
    public var compileLimits: ResourceLimits?
    /// Separates this request's compile cache entries from other namespaces' (e.g. one per tenant):
    /// defence in depth, since the compile key already covers every input. `nil` shares entries
    /// with every request that has no namespace.
    public var cacheNamespace: String?

    public init(language: String, code: String, extraFiles: [JailFile] = [], arguments: [String] = [],
                stdin: [UInt8] = [], environment: [(key: String, value: String)] = [],
                limits: ResourceLimits = ResourceLimits(), network: Bool = false) {
        self.language = language; self.code = code; self.extraFiles = extraFiles; self.arguments = arguments
        self.stdin = stdin; self.environment = environment; self.limits = limits; self.network = network
    }
}
