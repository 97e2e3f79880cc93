/// One entry of the language catalog (`Catalog/languages.json`): everything
/// Corral knows about a language is data, so adding one is adding an entry.
public struct Language: Sendable, Codable, Hashable {
    /// Canonical name used in requests (`python`).
    public var name: String
    public var displayName: String?
    /// Other names a request may use (`py`, `python3`).
    public var aliases: [String]
    /// File extensions that select this language for `corral run FILE`.
    public var extensions: [String]
    /// Name of the program's main file in the workspace.
    public var sourceFile: String
    /// Compile command, or nil for interpreted languages. Placeholders: `{source}`, `{out}`.
    public var compile: [String]?
    /// Run command. Placeholders: `{source}`, `{out}`.
    public var run: [String]
    /// Host paths the toolchain needs, bound read-only.
    public var paths: [String]?
    /// Extra environment for compile and run.
    public var env: [String: String]?
    /// Limits below which the toolchain cannot work (e.g. JVM threads); requests are raised to these.
    public var minimumLimits: MinimumLimits?
    /// Floors of the compile stage: what the toolchain needs to compile a small program, whatever
    /// the request asks (see `CompileLimits`).
    public var minimumCompileLimits: MinimumLimits?
    /// The executable whose presence makes the language available (default: first word of compile or run).
    public var probeExecutable: String?
    /// How the main source file and class are found: from the catalog (nil) or from the source (`java`).
    public var entryPoint: EntryPointRule?

    /// Rules for finding a program's entry in its source.
    public enum EntryPointRule: String, Sendable, Codable, Hashable {
        /// The public top-level class names the file; the class declaring `main` is run (`{main_class}`).
        case java
    }
    /// Command printing the toolchain's version (run on the host, absolute path).
    public var version: [String]
    /// How a warm pool starts this language's interpreter ahead of a run (nil: always cold).
    public var warm: WarmStart?

    /// A warm jail's program: the interpreter running a bootstrap that waits for its run's request.
    public struct WarmStart: Sendable, Codable, Hashable {
        /// The command; `{bootstrap}` is the bootstrap's source (see `WarmBootstrap`).
        public var run: [String]
        /// Which bootstrap (`python`, `node`: the interpreter runs the program in its own process;
        /// `exec`: a shell execs the language's run command, saving the jail's set-up only).
        public var bootstrap: String

        /// The bootstrap execs the run command: its argv is the whole command, and the environment
        /// reaches the program as a cold run's does, so no variable needs a cold run.
        public var execsRunCommand: Bool { bootstrap == "exec" }
        /// Prefixes of environment variables the interpreter reads only as it starts (`PYTHON`): a
        /// run that sets one cannot use a jail started without it, and runs cold.
        public var startupEnv: [String]?
        /// A fork-server for this language (`python` bootstrap only): its zygote imports `preload`.
        public var fork: ForkStart?

        enum CodingKeys: String, CodingKey {
            case run, bootstrap, fork
            case startupEnv = "startup_env"
        }
    }

    /// How a fork-server's zygote starts (docs/fork-server.md): the warm command with the zygote as
    /// its bootstrap, and the modules it imports before it forks (shared by every run, read-only).
    public struct ForkStart: Sendable, Codable, Hashable {
        public var preload: [String]
    }

    enum CodingKeys: String, CodingKey {
        case name, aliases, extensions, compile, run, paths, env, version, warm
        case displayName = "display_name"
        case sourceFile = "source_file"
        case minimumLimits = "minimum_limits"
        case minimumCompileLimits = "minimum_compile_limits"
        case probeExecutable = "probe_executable"
        case entryPoint = "entry_point"
    }

    public var isCompiled: Bool { compile != nil }

    /// The executable the language needs on the host (first word of its run or compile command).
    public var requiredExecutable: String { probeExecutable ?? (compile ?? run)[0] }

    /// Whether `path` is a source file of this language (for `{sources}`).
    public func isSource(_ path: String) -> Bool {
        guard let dot = path.lastIndex(of: ".") else { return false }
        return extensions.contains(path[path.index(after: dot)...].lowercased())
    }
}
