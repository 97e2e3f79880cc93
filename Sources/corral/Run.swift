import ArgumentParser
import CorralEngine
import CorralPolicy
import CorralRuntimes
import CorralSandbox
import Foundation

extension Corral {
    /// `corral run`: one program, one jail, through the same engine as `corral serve`.
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run a program in a fresh jail.",
            discussion: """
            The language comes from the file's extension unless --lang is given.
            Code may come from a FILE, from -c 'CODE', or from standard input with '-'.
            Arguments after '--' are passed to the program literally.
            With --strict or --profile production the code is validated first; code with findings at or above the threshold does not run.
            Exit status: the program's own; 128+N if it died of signal N; 124 on timeout; 65 if the policy refused the code; 125 if Corral failed; 64 for bad input.
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

        @Option(help: "A limit profile: development, testing, production (its limits, flags and policy; flags given here win).")
        var profile: String?

        @Flag(help: "Validate the code first and refuse to run it when findings reach the threshold (exit 65).")
        var strict = false

        @OptionGroup var history: HistoryOptions

        @Flag(help: "Print the result object as JSON instead of the program's output.")
        var json = false

        @Flag(name: .customLong("read-only-workspace"), help: "Mount /workspace read-only (the API's allow_filesystem: false); /tmp stays writable.")
        var readOnlyWorkspace = false

        @Argument(parsing: .postTerminator, help: "Arguments passed to the program.")
        var programArguments: [String] = []

        func run() async throws {
            let environmentVars = try parsedEnvironment()
            let local = try LocalEngine.start(history: try history.store())
            let response = try await local.use { engine in
                let program = try ProgramInput.read(code: code, file: file, language: language, catalog: engine.runtime.catalog)
                var request = ExecuteRequest(code: program.code, language: program.language)
                request.environmentVars = environmentVars
                request.args = programArguments
                request.allowNetwork = network ? true : nil
                // The CLI runs the user's own program: its workspace is writable unless asked (the API's
                // default, seed 000's allow_filesystem false, is for requests from others).
                request.allowFilesystem = !readOnlyWorkspace
                request.profile = profile
                request.strictMode = strict ? true : nil
                var options = ExecuteOptions()
                options.files = program.files
                options.stdin = try readStdin()
                options.compilerOptions = compileOptions
                options.limits = limits.overrides
                // The run returns only once its jail is reaped and its cgroup removed; the engine
                // stops before anything is printed, so nothing of the jail outlives a refused write.
                do throws(EngineError) {
                    return try await engine.execute(request, options: options, context: ExecutionContext(caller: "cli"))
                } catch {
                    throw CLIFailure(error)
                }
            }
            try report(response)
        }

        /// `--env KEY=VALUE` flags; the names are checked by the engine, like every request's.
        private func parsedEnvironment() throws -> [String: String] {
            var variables: [String: String] = [:]
            for pair in environment {
                guard let eq = pair.firstIndex(of: "=") else {
                    throw CLIFailure.usage("--env expects KEY=VALUE, got '\(pair)'")
                }
                variables[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
            }
            return variables
        }

        private func readStdin() throws -> [UInt8]? {
            guard let stdinFile else { return nil }
            if stdinFile == "-" { return Array(FileHandle.standardInput.readDataToEndOfFile()) }
            guard let data = FileManager.default.contents(atPath: stdinFile) else {
                throw CLIFailure.usage("cannot read --stdin-file \(stdinFile)")
            }
            return Array(data)
        }

        /// Prints the result and exits with the program's status. A reader that went away early
        /// (EPIPE) loses the rest of the output but changes neither the status nor the other stream.
        private func report(_ response: ExecutionResponse) throws {
            let result = response.result
            if json {
                try printJSON(RunOutput(response))
            } else {
                StandardStream.output.write(result.stdout)
                StandardStream.error.write(result.stderr)
                let name = file.flatMap { $0 == "-" ? nil : $0 } ?? "<code>"
                for finding in response.securityFindings ?? [] {
                    StandardStream.error.line(finding.cliLine(file: name))
                }
                StandardStream.error.line(result.summaryLine)
            }
            let code = result.cliExitCode
            if code != 0 { throw ExitCode(code) }
        }
    }
}

/// `corral run --json`: the result object, with the findings when the policy found any. The
/// engine's bookkeeping (`execution_id`, `queue_time_ms`, `cached: false`) is not shown: a local
/// run is neither queued behind others nor cached.
struct RunOutput: Encodable {
    var result: RunResult
    var securityFindings: [Finding]?

    init(_ response: ExecutionResponse) {
        result = response.result
        if result.cached != true { result.cached = nil }
        securityFindings = response.securityFindings
    }

    func encode(to encoder: any Encoder) throws {
        try result.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        try c.encodeIfPresent(securityFindings, forKey: .securityFindings)
    }

    enum Keys: String, CodingKey { case securityFindings = "security_findings" }
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
        case .securityViolation: 65
        default:
            if let signal { Int32(clamping: 128 + signal) } else { Int32(clamping: exitCode ?? 125) }
        }
    }
}
