import ArgumentParser
import CorralEngine
import CorralStore
import Foundation
import Glibc

extension Corral {
    /// `corral shadow`: a command on a copy-on-write shadow of a directory, its diff, and the
    /// changes applied only when asked (seed 004's review-then-apply, as one command).
    struct Shadow: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "shadow",
            abstract: "Run a command on a shadow copy of a directory, show the diff, apply it on request.",
            discussion: """
            The command runs by /bin/bash -c in a session whose /workspace is a copy-on-write overlay of DIR
            (DIR itself is never written by it). Its output is printed, then the unified diff of what it
            changed. With --apply the changes are written back (each file atomically); on a terminal you are
            asked; otherwise nothing is written. A file of DIR that changed meanwhile is a conflict: nothing
            is applied (exit 1).
            Exit status: the command's own (nonzero if it failed); 1 when the apply was refused; 64 for bad input; 125 if Corral failed.
            """
        )

        @Option(name: .customLong("dir"), help: "The directory to shadow (default: the current one).")
        var directory: String = "."

        @Flag(name: .customLong("apply"), help: "Write the changes back without asking.")
        var apply = false

        @Option(name: .customLong("timeout"), parsing: .unconditional, help: "Seconds the command may run (default 300).")
        var timeout: Double = 300

        @Argument(parsing: .captureForPassthrough, help: "The command (after '--'), run by /bin/bash -c.")
        var command: [String] = []

        func run() async throws {
            StandardStream.ignoreBrokenPipes()
            let words = command.first == "--" ? Array(command.dropFirst()) : command
            guard !words.isEmpty else { throw CLIFailure.usage("give the command after '--', e.g. corral shadow --dir . -- make test") }
            guard let real = realpath(directory, nil) else { throw CLIFailure.usage("--dir '\(directory)' does not exist") }
            let root = String(cString: real)
            free(real)
            let script = words.count == 1 ? words[0] : words.map(Self.quoted).joined(separator: " ")
            let local = try LocalEngine.start(history: InMemoryHistoryStore()) { configuration in
                configuration.sessions.allowedHostRoots = [root]
                configuration.sessions.warmSessions = 0
            }
            let context = ExecutionContext(caller: "cli")
            let status: Int32 = try await local.use { engine in
                do throws(EngineError) {
                    var create = CreateSessionRequest()
                    create.mount = CreateSessionRequest.Mount(hostPath: root, mode: "shadow")
                    let session = try await engine.createSession(create, context: context)
                    var exec = SessionExecRequest(command: script)
                    exec.timeoutSeconds = timeout
                    let outcome = try await engine.exec(session.sessionID, exec, context: context)
                    var exitStatus: Int32 = 0
                    if case .finished(let response) = outcome {
                        let result = response.result
                        StandardStream.output.write(result.stdout)
                        StandardStream.error.write(result.stderr)
                        if result.status != .success {
                            StandardStream.error.line("corral shadow: the command ended: \(result.status.rawValue)\(result.errorMessage.map { " (\($0))" } ?? "")")
                            exitStatus = Int32(clamping: result.exitCode ?? 1)
                            if exitStatus == 0 { exitStatus = 1 }
                        }
                    }
                    let applied = try ShadowReview.offer(engine: engine, sessionID: session.sessionID, root: root, apply: apply,
                                                         label: "corral shadow", context: context)
                    if !applied, exitStatus == 0 { exitStatus = 1 }
                    try engine.deleteSession(session.sessionID, context: context)
                    return exitStatus
                } catch {
                    throw CLIFailure(error)
                }
            }
            if status != 0 { throw ExitCode(status) }
        }

        /// A word as bash reads it literally.
        static func quoted(_ word: String) -> String {
            "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }
    }
}
