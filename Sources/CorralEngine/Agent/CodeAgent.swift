import Foundation

/// The code agent as the engine sees it: a task given in words (`{"task": "..."}`, seed 002, and
/// `POST /v1/agent/runs`) runs as one `agent` step in the task's session. The `CorralAgent` target
/// implements it; `corral serve --llm-url` sets `EngineConfiguration.codeAgent`. Without one, a task
/// in words is refused with what to configure.
public protocol CodeAgent: Sendable {
    /// The presets a task may name.
    var presetNames: [String] { get }
    /// The models a task may name.
    var modelNames: [String] { get }
    /// Checks a task's agent fields before it is accepted (a bad preset is a 400 now, not a failed
    /// task later) and says what its session needs.
    func sessionShape(_ options: AgentTaskOptions) throws(EngineError) -> AgentSessionShape
    /// Runs the agent in session `sessionID` (reachable with `context`) until it answers, fails or
    /// runs out of steps or tokens. Never throws: every failure is in the outcome.
    /// `deadlineSeconds` bounds the whole run; `isCancelled` is asked before each model call.
    func run(task: String, options: AgentTaskOptions, engine: Engine, sessionID: String, context: ExecutionContext,
             deadlineSeconds: Double, isCancelled: @escaping @Sendable () -> Bool,
             progress: @escaping @Sendable (String) -> Void) async -> CodeAgentOutcome
}

/// The agent fields of a task request.
public struct AgentTaskOptions: Sendable, Equatable {
    /// `digger`, `codemod` or `general` (the default).
    public var preset: String?
    /// A host directory to work on (under a root the server allows): read-only for Digger, a
    /// shadow copy (copy-on-write) otherwise.
    public var dir: String?
    public var model: String?
    public var maxSteps: Int?
    public var tokenBudget: Int?

    public init(preset: String? = nil, dir: String? = nil, model: String? = nil, maxSteps: Int? = nil, tokenBudget: Int? = nil) {
        self.preset = preset; self.dir = dir; self.model = model; self.maxSteps = maxSteps; self.tokenBudget = tokenBudget
    }
}

/// What an agent's session is made of.
public struct AgentSessionShape: Sendable {
    /// `readonly` or `shadow` (for a task with a `dir`).
    public var mountMode: String
    public var memoryMb: Int
    public init(mountMode: String, memoryMb: Int) { self.mountMode = mountMode; self.memoryMb = memoryMb }
}

/// How an agent run ended.
public struct CodeAgentOutcome: Sendable {
    /// The run's `final_answer`, when it gave one.
    public var answer: String?
    /// Why it stopped without one (the model unreachable, max_steps, the token budget …).
    public var error: String?
    public var steps: Int
    public var tokens: Int
    /// The whole transcript (messages, code, observations, timings, tokens) as JSON.
    public var transcript: Data

    public init(answer: String?, error: String?, steps: Int, tokens: Int, transcript: Data) {
        self.answer = answer; self.error = error; self.steps = steps; self.tokens = tokens; self.transcript = transcript
    }
}
