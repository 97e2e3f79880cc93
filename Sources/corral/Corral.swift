import ArgumentParser
import CorralEngine
import CorralSandbox
import Foundation

/// `corral`: run untrusted code in a jail with hard limits.
struct Corral: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corral",
        abstract: "Run untrusted code in a Linux namespace jail with hard limits.",
        version: "0.1.0",
        subcommands: [Run.self, Shadow.self, AgentCommand.self, Validate.self, Serve.self, SessionCommand.self, TaskCommand.self, History.self, Stats.self, Doctor.self, Languages.self]
    )
}

/// An error the CLI reports as one line with a chosen exit code.
struct CLIFailure: Error {
    var message: String
    /// 64 for bad input (EX_USAGE), 125 when Corral itself failed.
    var exitCode: Int32

    init(message: String, exitCode: Int32) {
        self.message = message
        self.exitCode = exitCode
    }

    static func usage(_ message: String) -> CLIFailure { CLIFailure(message: message, exitCode: 64) }
    static func corralFailed(_ message: String) -> CLIFailure { CLIFailure(message: message, exitCode: 125) }

    /// The engine's refusal, through its one table: the caller's mistake (a 4xx) is a usage error,
    /// Corral's own failure (a 5xx) is 125. A limit is named by the flag that sets it.
    init(_ error: EngineError) {
        var message = error.message
        if let limit = error.limit, let flag = LimitOptions.flags[limit.name] {
            message = "\(flag) \(SandboxError.formatLimit(limit.value)) is out of range: allowed "
                + "\(SandboxError.formatLimit(limit.allowed.lowerBound))...\(SandboxError.formatLimit(limit.allowed.upperBound))"
        }
        self.init(message: message, exitCode: error.code.isCallerError ? 64 : 125)
    }
}

/// Prints `value` as pretty JSON (sorted keys, ISO 8601 dates) on stdout: the `--json` output of every command.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    StandardStream.output.write(try encoder.encode(value) + Data("\n".utf8))
}
