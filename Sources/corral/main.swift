import ArgumentParser
import Foundation

// A custom entry point: every error of the CLI's own input is one line on
// stderr and exit 64 (usage) or 125 (Corral failed), never a stack trace.
StandardStream.ignoreBrokenPipes()
do {
    var command = try Corral.parseAsRoot()
    if var asyncCommand = command as? any AsyncParsableCommand {
        try await runAsync(&asyncCommand)
    } else {
        try command.run()
    }
} catch let exit as ExitCode {
    Foundation.exit(exit.rawValue)
} catch let failure as CLIFailure {
    StandardStream.error.line("corral: \(failure.message)")
    Foundation.exit(failure.exitCode)
} catch {
    if ProcessInfo.processInfo.environment["CORRAL_DEBUG"] != nil { StandardStream.error.line("\(error)") }
    let code = Corral.exitCode(for: error)
    if code == .success {
        StandardStream.output.line(Corral.fullMessage(for: error)) // --help, --version
        Foundation.exit(0)
    }
    let message = Corral.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
    StandardStream.error.line("corral: \(message) (see 'corral --help')")
    Foundation.exit(code == .validationFailure ? 64 : 125)
}

/// Opens the existential so that the async `run()` is the one called.
func runAsync<Command: AsyncParsableCommand>(_ command: inout Command) async throws {
    try await command.run()
}
