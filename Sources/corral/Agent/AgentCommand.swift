import ArgumentParser
import CorralAgent
import CorralEngine
import CorralPolicy
import CorralStore
import Foundation
import Glibc

extension Corral {
    /// `corral agent`: the code agent (seed 004) on this machine, with a local engine.
    struct AgentCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "agent",
            abstract: "Run the code agent: an LLM that acts in Python inside a sandbox, on a copy of a directory.",
            discussion: """
            The model (--llm-url, --llm-model, or CORRAL_LLM_URL and CORRAL_LLM_MODEL; key in CORRAL_LLM_API_KEY) writes Python; each step is validated and run in a session's stateful context, with no network, and what it printed or raised is its next observation. See docs/agent.md.
            digger answers a question about DIR (mounted read-only). codemod changes DIR on a shadow copy: the diff is printed and written back only with --apply or a "y" on a terminal, and only when the agent gave a final answer. run does a task in an empty workspace, or on --dir as its --preset mounts it (digger and codemod take the current directory by default).
            Exit status: 0 when the agent gave a final answer (and any apply succeeded); 1 when it stopped without one or the apply was refused; 64 for bad input; 125 if Corral failed.
            """,
            subcommands: [Digger.self, CodeMod.self, RunTask.self])

        struct Digger: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "digger", abstract: "Answer a question about a codebase (read-only).")
            @Argument(help: "The question.") var question: String
            @OptionGroup var common: AgentOptions
            func run() async throws { try await common.run(task: question, preset: "digger", apply: false) }
        }

        struct CodeMod: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "codemod", abstract: "Change a codebase on a shadow copy; review, then apply.")
            @Argument(help: "The change, in words.") var change: String
            @OptionGroup var common: AgentOptions
            @Flag(name: .customLong("apply"), help: "Write the changes back without asking.") var apply = false
            func run() async throws { try await common.run(task: change, preset: "codemod", apply: apply) }
        }

        struct RunTask: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "run", abstract: "Do a task in words (on a shadow copy of --dir, if given).")
            @Argument(help: "The task.") var task: String
            @OptionGroup var common: AgentOptions
            @Option(help: "digger, codemod or general (default).") var preset: String?
            @Flag(name: .customLong("apply"), help: "Write the changes back without asking.") var apply = false
            func run() async throws { try await common.run(task: task, preset: preset ?? "general", apply: apply) }
        }
    }
}

/// What every `corral agent` command takes.
struct AgentOptions: ParsableArguments {
    @Option(name: .customLong("dir"), help: "The directory to work on (digger, codemod: default the current one).") var directory: String?
    @Option(name: .customLong("max-steps"), parsing: .unconditional, help: "Steps before the agent is stopped (default: the preset's).") var maxSteps: Int?
    @Option(name: .customLong("token-budget"), parsing: .unconditional, help: "Tokens the run may use (default 200000).") var tokenBudget: Int?
    @Option(name: .customLong("transcript"), help: "Write the run's transcript (JSON) to this file.") var transcriptPath: String?
    @OptionGroup(title: "Model") var llm: LLMOptions

    func run(task: String, preset presetName: String, apply: Bool) async throws {
        StandardStream.ignoreBrokenPipes()
        guard let settings = try llm.settings() else {
            throw CLIFailure.usage("no model: give --llm-url http://HOST:PORT/v1 and --llm-model NAME (or CORRAL_LLM_URL, CORRAL_LLM_MODEL); see docs/agent.md")
        }
        let agent: CorralCodeAgent
        do { agent = try CorralCodeAgent(settings: settings) } catch { throw CLIFailure.usage(error.description) }
        let options = AgentTaskOptions(preset: presetName, dir: nil, maxSteps: maxSteps, tokenBudget: tokenBudget)
        if let maxSteps, !(1...100).contains(maxSteps) { throw CLIFailure.usage("--max-steps must be between 1 and 100") }
        if let tokenBudget, !(1...10_000_000).contains(tokenBudget) { throw CLIFailure.usage("--token-budget must be between 1 and 10,000,000") }
        let shape: AgentSessionShape
        do { shape = try agent.sessionShape(options) } catch { throw CLIFailure(error) }
        let wantsDirectory = directory != nil || presetName != "general"
        var root: String?
        if wantsDirectory {
            guard let real = realpath(directory ?? ".", nil) else { throw CLIFailure.usage("--dir '\(directory ?? ".")' does not exist") }
            root = String(cString: real)
            free(real)
        }
        let local = try LocalEngine.start(history: InMemoryHistoryStore()) { configuration in
            if let root { configuration.sessions.allowedHostRoots = [root] }
            configuration.sessions.warmSessions = 0
            configuration.analyzerWorkers = AnalyzerWorkers.Configuration()
        }
        let context = ExecutionContext(caller: "cli")
        let status: Int32 = try await local.use { engine in
            do throws(EngineError) {
                var create = CreateSessionRequest()
                create.maxMemoryMb = min(shape.memoryMb, engine.configuration.maximumLimits.memoryMB)
                if let root { create.mount = CreateSessionRequest.Mount(hostPath: root, mode: shape.mountMode) }
                let session = try await engine.createSession(create, context: context)
                defer {
                    // The session's workspace (a shadow copy's changes) is on this host until it is deleted.
                    do throws(EngineError) { try engine.deleteSession(session.sessionID, context: context) } catch {
                        StandardStream.error.line("corral agent: the session could not be removed (\(error.message)); the next corral command removes what it left")
                    }
                }
                let sandbox = try await EngineSandbox.open(engine: engine, sessionID: session.sessionID, context: context)
                let started = Date()
                // What the model wrote is shown as text: its control characters cannot drive the terminal.
                let transcript = await agent.loop.run(task: task, options: options, sandbox: sandbox, progress: { event in
                    StandardStream.error.line("corral agent: " + PlainText.escapingControls("\(event)"))
                    if case .code(_, let code) = event {
                        StandardStream.error.line(code.split(separator: "\n", omittingEmptySubsequences: false)
                            .map { "    | " + PlainText.escapingControls(String($0)) }.joined(separator: "\n"))
                    }
                })
                if let path = transcriptPath, !FileManager.default.createFile(atPath: path, contents: transcript.json) {
                    StandardStream.error.line("corral agent: cannot write the transcript to \(path)")
                }
                if let answer = transcript.answer {
                    StandardStream.output.line(isatty(STDOUT_FILENO) == 1 ? PlainText.escapingControls(answer, keepingNewlines: true) : answer)
                }
                let seconds = String(format: "%.1f", Date().timeIntervalSince(started))
                StandardStream.error.line("corral agent: \(transcript.answer == nil ? "stopped" : "answered") after \(transcript.steps.count) step(s), "
                    + "\(transcript.totalTokens) token(s), \(seconds) s")
                var exitStatus: Int32 = transcript.answer == nil ? 1 : 0
                if let error = transcript.error { StandardStream.error.line("corral agent: " + PlainText.escapingControls(error)) }
                if let root, shape.mountMode == "shadow", transcript.answer == nil {
                    // A run that stopped half-way leaves half-made changes: shown, never written back.
                    if let diff = transcript.diff { StandardStream.output.write(PlainText.escapingControls(diff, keepingNewlines: true)) }
                    StandardStream.error.line("corral agent: not applied: the agent stopped without a final answer (nothing was written to \(root))")
                } else if let root, shape.mountMode == "shadow" {
                    let applied = try ShadowReview.offer(engine: engine, sessionID: session.sessionID, root: root, apply: apply,
                                                         label: "corral agent", context: context)
                    if !applied { exitStatus = 1 }
                }
                return exitStatus
            } catch {
                throw CLIFailure(error)
            }
        }
        if status != 0 { throw ExitCode(status) }
    }
}
