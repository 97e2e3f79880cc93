import CorralEngine
import Foundation

/// The engine's code agent (`EngineConfiguration.codeAgent`): a task in words runs as an agent
/// loop in the task's session; its transcript is stored with the task.
public struct CorralCodeAgent: CodeAgent {
    public let loop: AgentLoop

    public init(settings: LLMSettings) throws(AgentError) {
        loop = AgentLoop(client: try LLMClient(settings), presets: try AgentPresets.bundled())
    }

    public var presetNames: [String] { loop.presets.names }
    public var modelNames: [String] { [loop.client.settings.model] + loop.client.settings.otherModels }

    public func sessionShape(_ options: AgentTaskOptions) throws(EngineError) -> AgentSessionShape {
        let settings = loop.client.settings
        if let model = options.model, !settings.allows(model: model) {
            throw EngineError(.invalidRequest, "model '\(model)' is not offered by this server (models: "
                + ([settings.model] + settings.otherModels).joined(separator: ", ") + "; the operator adds one with --llm-allow-model)", field: "model")
        }
        do throws(AgentError) {
            let resolved = try loop.presets.resolve(options.preset)
            return AgentSessionShape(mountMode: resolved.preset.mount, memoryMb: resolved.template.memoryMb)
        } catch {
            throw EngineError(.invalidRequest, error.description, field: "preset")
        }
    }

    public func run(task: String, options: AgentTaskOptions, engine: Engine, sessionID: String, context: ExecutionContext,
                    deadlineSeconds: Double, isCancelled: @escaping @Sendable () -> Bool,
                    progress: @escaping @Sendable (String) -> Void) async -> CodeAgentOutcome {
        let transcript: AgentTranscript
        do throws(EngineError) {
            let sandbox = try await EngineSandbox.open(engine: engine, sessionID: sessionID, context: context)
            transcript = await loop.run(task: task, options: options, sandbox: sandbox, deadlineSeconds: deadlineSeconds,
                                        isCancelled: isCancelled) { progress($0.description) }
        } catch {
            var failed = AgentTranscript(task: task, preset: options.preset ?? "general", model: options.model ?? loop.client.settings.model)
            failed.error = "the agent's Python context could not start: \(error.message)"
            transcript = failed
        }
        return CodeAgentOutcome(answer: transcript.answer, error: transcript.error, steps: transcript.steps.count,
                                tokens: transcript.totalTokens, transcript: transcript.json)
    }
}

extension AgentTranscript {
    /// Pretty, sorted JSON (what `agent_transcript.json` holds).
    public var json: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data("{\"error\": \"the transcript could not be encoded\"}".utf8)
    }
}
