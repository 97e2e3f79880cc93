import ArgumentParser
import CorralRuntimes
import CorralSandbox
import Foundation

extension Corral {
    /// `corral run`: one program, one jail.
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a program in a fresh jail.",
            discussion: """
            The language comes from the file's extension unless --lang is given.
            Code may come from a FILE, from -c 'CODE', or from standard input with '-'.
            Arguments after '--' are passed to the program literally.
            Exit status: the program's own; 128+N if it died of signal N; 124 on timeout; 125 if Corral failed.
            """
        )

        @Option(name: [.customLong("lang"), .customShort("l")], help: "Language (see 'corral languages').")
        var language: String?

        @Option(name: .customShort("c"), help: "The program's code.")
        var code: String?

        @Argument(help: "Source file, or '-' to read the code from standard input.")
        var file: String?

        @OptionGroup var limits: LimitOptions

        @Option(name: .customLong("env"), help: ArgumentHelp("Environment variable for the program (repeatable).", valueName: "KEY=VALUE"))
        var environment: [String] = []

        @Option(name: .customLong("stdin-file"), help: "File fed to the program's standard input ('-' for Corral's own).")
        var stdinFile: String?

        @Option(name: .customLong("compile-option"), parsing: .unconditionalSingleValue,
                help: ArgumentHelp("Option for the compiler, passed literally after the sources (repeatable).", valueName: "OPTION"))
        var compileOptions: [String] = []

        @Flag(help: "Allow outbound network (the host's loopback stays unreachable).")
        var network = false

        @Flag(help: "Print the result object as JSON instead of the program's output.")
        var json = false

        @Argument(parsing: .postTerminator, help: "Arguments passed to the program.")
        var programArguments: [String] = []

        func run() async throws {
            let catalog: LanguageCatalog
            do { catalog = try LanguageCatalog.load() } catch { throw CLIFailure.corralFailed("\(error)") }
            let (source, languageName, files) = try readProgram(catalog: catalog)
            guard let language = catalog.language(named: languageName) else {
                throw CLIFailure.usage("unknown language '\(languageName)'; available: \(catalog.names.joined(separator: ", "))")
            }
            var env: [(key: String, value: String)] = []
            for pair in environment {
                guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
                    throw CLIFailure.usage("--env expects KEY=VALUE, got '\(pair)'")
                }
                env.append((String(pair[..<eq]), String(pair[pair.index(after: eq)...])))
            }
            let resourceLimits = try limits.resolved()
            let stdin = try readStdin()
            if !compileOptions.isEmpty && !language.isCompiled {
                throw CLIFailure.usage("--compile-option: \(language.name) is not a compiled language")
            }

            let sandbox: Sandbox
            var configuration = Sandbox.Configuration()
            configuration.poolSize = 0 // one run: a pool would only clone a jail nobody uses
            do { sandbox = try Sandbox(configuration: configuration) } catch {
                throw CLIFailure.corralFailed("cannot start the sandbox: \(error)")
            }
            let runtime = Runtime(sandbox: sandbox, catalog: catalog)
            var request = RunRequest(language: language.name, code: source, extraFiles: files, arguments: programArguments,
                                     stdin: stdin, environment: env, limits: resourceLimits, network: network)
            request.compilerOptions = compileOptions
            // The run returns only once its jail is reaped and its cgroup removed; the pool is emptied
            // before anything is printed, so nothing of the jail outlives a failed or refused write.
            let result = await runtime.run(request)
            sandbox.shutdown()
            try report(result)
        }

        /// The main source, the language's name, and any other files (a directory's).
        private func readProgram(catalog: LanguageCatalog) throws -> (String, String, [JailFile]) {
            if let code {
                if file != nil { throw CLIFailure.usage("give the code either with -c or as a FILE, not both") }
                guard let language else { throw CLIFailure.usage("-c needs --lang to know the language") }
                return (code, language, [])
            }
            guard let file else { throw CLIFailure.usage("nothing to run: give a FILE, -c 'CODE', or '-' with --lang") }
            if file == "-" {
                guard let language else { throw CLIFailure.usage("code on standard input needs --lang") }
                return (String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self), language, [])
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) else {
                throw CLIFailure.usage("no such file: \(file)")
            }
            if isDirectory.boolValue { return try readDirectory(file, catalog: catalog) }
            guard let data = FileManager.default.contents(atPath: file) else { throw CLIFailure.usage("cannot read \(file)") }
            guard let name = language ?? catalog.language(forFile: file)?.name else {
                throw CLIFailure.usage("cannot tell the language of \(file) from its extension; use --lang")
            }
            return (String(decoding: data, as: UTF8.self), name, [])
        }

        /// A multi-file program: every regular file of `directory`; the entry point is the language's source file.
        private func readDirectory(_ directory: String, catalog: LanguageCatalog) throws -> (String, String, [JailFile]) {
            guard let name = language, let lang = catalog.language(named: name) else {
                throw CLIFailure.usage(language.map { "unknown language '\($0)'" } ?? "running a directory needs --lang")
            }
            let files: [JailFile]
            do { files = try ProgramDirectory.read(directory) } catch { throw CLIFailure.usage(error.description) }
            guard files.contains(where: { $0.path == lang.sourceFile }) else {
                throw CLIFailure.usage("\(directory) has no \(lang.sourceFile), the entry point of a \(lang.name) program")
            }
            return ("", lang.name, files)
        }

        private func readStdin() throws -> [UInt8] {
            guard let stdinFile else { return [] }
            if stdinFile == "-" { return Array(FileHandle.standardInput.readDataToEndOfFile()) }
            guard let data = FileManager.default.contents(atPath: stdinFile) else {
                throw CLIFailure.usage("cannot read --stdin-file \(stdinFile)")
            }
            return Array(data)
        }

        /// Prints the result and exits with the program's status. A reader that went away early
        /// (EPIPE) loses the rest of the output but changes neither the status nor the other stream.
        private func report(_ result: RunResult) throws {
            if json {
                try printJSON(result)
            } else {
                StandardStream.output.write(result.stdout)
                StandardStream.error.write(result.stderr)
                StandardStream.error.line(result.summaryLine)
            }
            let code = result.cliExitCode
            if code != 0 { throw ExitCode(code) }
        }
    }
}

extension RunResult {
    /// One line for humans: status, exit, wall and CPU time, peak memory.
    var summaryLine: String {
        var parts = ["corral: \(status.rawValue)"]
        if let compile {
            parts.append(compile.cached ? "compile cached" : String(format: "compile %.0f ms", compile.executionTimeMs))
        }
        if let signal { parts.append("signal \(signal)") } else if let exitCode { parts.append("exit \(exitCode)") }
        parts.append(String(format: "wall %.1f ms", executionTimeMs))
        parts.append(String(format: "cpu %.1f ms", cpuTimeMs))
        parts.append(String(format: "mem %.1f MB", memoryUsedMb))
        if outputTruncated { parts.append("output truncated") }
        if let errorMessage { parts.append(errorMessage) }
        return parts.joined(separator: " · ")
    }

    /// The CLI's exit status for this result.
    var cliExitCode: Int32 {
        switch status {
        case .timeout: 124
        case .internalError: 125
        default:
            if let signal { Int32(clamping: 128 + signal) } else { Int32(clamping: exitCode ?? 125) }
        }
    }
}
