import CorralEngine
import CorralPolicy
import Foundation

/// What a run reports as it goes (the CLI's progress lines, the task's log and events).
public enum AgentEvent: Sendable, CustomStringConvertible {
    case step(Int, of: Int)
    case code(Int, String)
    case observation(Int, String, failed: Bool)
    case finished(String)
    case stopped(String)

    public var description: String {
        switch self {
        case .step(let n, let of): "step \(n)/\(of): asking the model"
        case .code(let n, let code): "step \(n): running \(code.split(separator: "\n").count) line(s) of Python"
        case .observation(let n, let text, let failed): "step \(n) \(failed ? "failed" : "ran"): \(AgentLoop.clip(text, 300))"
        case .finished(let answer): "final answer: \(AgentLoop.clip(answer, 300))"
        case .stopped(let why): "stopped: \(why)"
        }
    }
}

/// The code agent's loop (seed 004): the model writes a Python action, Corral validates it (the
/// preset's authorized imports and the policy rules) and runs it in the session's stateful
/// context, and what it printed, returned or raised is the next observation; `final_answer(...)`
/// ends the run. A step whose code fails is the model's to fix, not retried by Corral.
public struct AgentLoop: Sendable {
    public let client: LLMClient
    public let presets: AgentPresets
    /// Tokens a run may use unless its request says otherwise.
    public var defaultTokenBudget = 200_000
    /// Characters of one observation the model is shown (the rest is cut, and it is told).
    public var observationLimit = 20_000

    public init(client: LLMClient, presets: AgentPresets) {
        self.client = client; self.presets = presets
    }

    /// Runs the agent. `deadlineSeconds` bounds the whole run (model calls and actions);
    /// `isCancelled` is asked before every model call (a cancelled task stops asking).
    public func run(task: String, options: AgentTaskOptions, sandbox: any AgentSandbox, deadlineSeconds: Double = 3600,
                    isCancelled: @escaping @Sendable () -> Bool = { false },
                    progress: @escaping @Sendable (AgentEvent) -> Void = { _ in }) async -> AgentTranscript {
        let started = DispatchTime.now().uptimeNanoseconds
        let model = options.model ?? client.settings.model
        var transcript = AgentTranscript(task: task, preset: options.preset ?? "general", model: model)
        func stop(_ why: String) -> AgentTranscript {
            progress(.stopped(why))
            transcript.error = why
            transcript.durationMs = Self.ms(since: started)
            return transcript
        }
        let resolved: (name: String, preset: AgentPresets.Preset, template: AgentPresets.Template)
        do throws(AgentError) { resolved = try presets.resolve(options.preset) } catch { return stop(error.description) }
        // Whatever a caller or a presets file says, a run has 1 to 100 steps.
        let maxSteps = min(100, max(1, options.maxSteps ?? resolved.preset.maxSteps))
        let budget = max(1, options.tokenBudget ?? defaultTokenBudget)
        let timeout = resolved.template.timeoutSeconds
        let definitions = AgentTools.definitions(resolved.preset.tools)

        do throws(EngineError) {
            let defined = try await sandbox.run(definitions, timeout: 30)
            if let error = defined.error { return stop("the agent's tools could not be defined: \(error.name): \(error.value)") }
        } catch {
            return stop("the agent's sandbox did not start: \(error.message)")
        }

        transcript.messages = [.system(SystemPrompt.text(presetName: resolved.name, preset: resolved.preset, workspace: "/workspace", maxSteps: maxSteps)),
                               .user("Task: \(task)")]
        for index in 1...maxSteps {
            if isCancelled() {
                transcript.diff = await boundedDiff(sandbox)
                return stop("cancelled")
            }
            if Self.ms(since: started) > deadlineSeconds * 1000 {
                transcript.diff = await boundedDiff(sandbox)
                return stop("the run's time (\(SecondsText.text(deadlineSeconds))) was used up before step \(index)")
            }
            progress(.step(index, of: maxSteps))
            let modelStart = DispatchTime.now().uptimeNanoseconds
            let completion: Completion
            do throws(AgentError) { completion = try await client.complete(transcript.messages, model: options.model) } catch {
                return stop("the model failed at step \(index): \(error.description)")
            }
            transcript.totalTokens = Self.add(transcript.totalTokens, completion.totalTokens)
            // A reply is kept (in the conversation, twice in the transcript, sent back at every
            // later step) up to `maxReplyBytesKept`: whole, a model's 16 MiB replies held gigabytes.
            // A cut reply is not run (its code would be cut too).
            let cut = PlainText.prefix(completion.content, maxBytes: Self.maxReplyBytesKept)
            let reply = cut.map { $0 + "\n… (the reply was cut at \(Self.maxReplyBytesKept) bytes; nothing of it ran)" } ?? completion.content
            transcript.messages.append(.assistant(reply))
            var step = AgentTranscript.Step(index: index, modelOutput: reply, code: nil, observation: "", error: nil,
                                            promptTokens: completion.promptTokens, completionTokens: completion.completionTokens,
                                            modelMs: Self.ms(since: modelStart), executionMs: 0)
            let outcome: Outcome
            if cut != nil {
                step.error = "reply over \(Self.maxReplyBytesKept) bytes"
                step.observation = "Your reply was longer than \(Self.maxReplyBytesKept) bytes and was cut there, so nothing of it ran. "
                    + "Reply with one shorter ```python block."
                progress(.observation(index, step.error ?? "", failed: true))
                outcome = .goOn
            } else {
                outcome = await act(on: reply, step: &step, authorizedImports: resolved.preset.authorizedImports,
                                    timeout: timeout, definitions: definitions, sandbox: sandbox, progress: progress)
            }
            transcript.steps.append(step)
            switch outcome {
            case .answer(let answer):
                progress(.finished(answer))
                transcript.answer = answer
                transcript.diff = await boundedDiff(sandbox)
                transcript.durationMs = Self.ms(since: started)
                return transcript
            case .failed(let why):
                transcript.diff = await boundedDiff(sandbox)
                return stop(why)
            case .goOn:
                transcript.messages.append(.user("Observation:\n" + step.observation))
            }
            if transcript.totalTokens > budget {
                transcript.diff = await boundedDiff(sandbox)
                return stop("the token budget (\(budget)) was used up after step \(index) (\(transcript.totalTokens) tokens)")
            }
        }
        transcript.diff = await boundedDiff(sandbox)
        return stop("no final answer within max_steps (\(maxSteps) steps)")
    }

    enum Outcome {
        case answer(String)
        case failed(String)
        case goOn
    }

    /// One step's action: its code extracted, validated, run; the observation written into `step`.
    private func act(on reply: String, step: inout AgentTranscript.Step, authorizedImports: [String], timeout: Double,
                     definitions: String, sandbox: any AgentSandbox, progress: @Sendable (AgentEvent) -> Void) async -> Outcome {
        let index = step.index
        guard let code = CodeBlocks.extract(reply) else {
            step.error = "no code block"
            step.observation = "Your reply had no ```python code block, so nothing ran. Reply with exactly one ```python block; "
                + "call final_answer(...) in it when you are done."
            progress(.observation(index, step.error ?? "", failed: true))
            return .goOn
        }
        step.code = code
        // A check that cannot run refuses: code goes to the sandbox only once it has passed.
        let report: ValidationReport
        do throws(EngineError) { report = try await sandbox.validate(code, authorizedImports: authorizedImports) } catch {
            return .failed("step \(index)'s code could not be validated (\(error.message)); nothing unvalidated runs")
        }
        guard report.isSafe else {
            step.error = "refused: " + report.issues.joined(separator: "; ")
            step.observation = "Your code was refused before it ran, for:\n" + report.issues.map { "- " + $0 }.joined(separator: "\n")
                + "\nRewrite it without that (import only: \(authorizedImports.joined(separator: ", ")))."
            progress(.observation(index, step.error ?? "", failed: true))
            return .goOn
        }
        progress(.code(index, code))
        let runStart = DispatchTime.now().uptimeNanoseconds
        let result: RunCodeResult
        do throws(EngineError) { result = try await sandbox.run(code, timeout: timeout) } catch {
            step.executionMs = Self.ms(since: runStart)
            if error.code == .payloadTooLarge || error.code == .invalidLimit {
                // The model's to fix (code too long): told, not fatal.
                step.error = error.message
                step.observation = "Your code was not run: \(error.message)"
                progress(.observation(index, step.observation, failed: true))
                return .goOn
            }
            return .failed("step \(index)'s code could not run: \(error.message)")
        }
        step.executionMs = Self.ms(since: runStart)
        if let error = result.error, Self.contextRestarted(error) {
            // The context was restarted (a timeout, a crash): its tools are defined again; the
            // model's own variables are gone, and the error says so.
            do throws(EngineError) { _ = try await sandbox.run(definitions, timeout: 30) } catch {
                return .failed("the agent's tools could not be defined again after step \(index): \(error.message)")
            }
        }
        if let error = result.error, error.name == AgentTools.finalAnswerName {
            step.observation = result.stdout.isEmpty ? "final answer given" : clipped(result.stdout)
            return .answer(error.value)
        }
        step.observation = await observation(result, sandbox: sandbox)
        if let error = result.error { step.error = "\(error.name): \(error.value)" }
        progress(.observation(index, step.observation, failed: result.error != nil))
        return .goOn
    }

    /// What the model is told about a run: its output (a diff where it asked for one), its last value, its error.
    private func observation(_ result: RunCodeResult, sandbox: any AgentSandbox) async -> String {
        var stdout = clipped(result.stdout)
        if let marker = stdout.range(of: AgentTools.previewMarker) {
            // One diff, bounded, in place of the first marker; other markers are dropped.
            let diff = await boundedDiff(sandbox) ?? "(no changes to the working copy)"
            let before = String(stdout[..<marker.lowerBound])
            let after = String(stdout[marker.upperBound...]).replacingOccurrences(of: AgentTools.previewMarker, with: "")
            stdout = before + "Diff of the working copy:\n" + diff + after
        }
        var parts: [String] = []
        if !stdout.isEmpty { parts.append("Output:\n" + stdout) }
        if !result.stderr.isEmpty { parts.append("Stderr:\n" + result.stderr) }
        if let value = result.result { parts.append("Last value: " + value.text) }
        if let error = result.error {
            parts.append("Error: \(error.name): \(error.value)" + (error.traceback.isEmpty ? "" : "\n" + error.traceback))
        }
        return clipped(parts.isEmpty ? "The code ran and printed nothing." : parts.joined(separator: "\n"))
    }

    /// The working copy's diff, cut to the observation limit.
    private func boundedDiff(_ sandbox: any AgentSandbox) async -> String? {
        (await sandbox.diff()).map(clipped)
    }

    /// Whether the context server was restarted under this error (its state, the tools included, is gone).
    static func contextRestarted(_ error: RunCodeResult.CellError) -> Bool {
        error.traceback.isEmpty && error.name == "TimeoutError" || error.name == "ContextDied"
    }

    /// Saturating: a count reported by the model never wraps.
    static func add(_ a: Int, _ b: Int) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? Int.max : sum
    }

    private func clipped(_ text: String) -> String {
        text.count > observationLimit ? String(text.prefix(observationLimit)) + "\n… (cut at \(observationLimit) characters)" : text
    }

    static func clip(_ text: String, _ limit: Int) -> String {
        let line = text.replacingOccurrences(of: "\n", with: " ⏎ ")
        return line.count > limit ? String(line.prefix(limit)) + "…" : line
    }

    /// The most of one model reply the agent keeps and acts on.
    static let maxReplyBytesKept = 256 << 10

    static func ms(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 }
}
