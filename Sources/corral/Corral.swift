import ArgumentParser
import Foundation

/// `corral`: run untrusted code in a jail with hard limits.
struct Corral: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corral",
        abstract: "Run untrusted code in a Linux namespace jail with hard limits.",
        version: "0.1.0",
        subcommands: [Run.self, Validate.self, Serve.self, History.self, Stats.self, Doctor.self, Languages.self]
    )
}

/// An error the CLI reports as one line with a chosen exit code.
struct CLIFailure: Error {
    var message: String
    /// 64 for bad input (EX_USAGE), 125 when Corral itself failed.
    var exitCode: Int32

    static func usage(_ message: String) -> CLIFailure { CLIFailure(message: message, exitCode: 64) }
    static func corralFailed(_ message: String) -> CLIFailure { CLIFailure(message: message, exitCode: 125) }
}

/// Prints `value` as pretty JSON (sorted keys, ISO 8601 dates) on stdout: the `--json` output of every command.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    StandardStream.output.write(try encoder.encode(value) + Data("\n".utf8))
}
