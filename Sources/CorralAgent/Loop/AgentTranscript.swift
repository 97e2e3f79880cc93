/// Everything a run did, stored with its task (`agent_transcript.json`) and printed by the CLI.
public struct AgentTranscript: Sendable, Codable {
    public struct Step: Sendable, Codable {
        public var index: Int
        /// The model's reply, whole.
        public var modelOutput: String
        /// The code taken from it (nil: the reply had none).
        public var code: String?
        /// What the model was told about this step.
        public var observation: String
        /// Why the code did not run or failed (validation, error name), when it did not succeed.
        public var error: String?
        public var promptTokens: Int
        public var completionTokens: Int
        public var modelMs: Double
        public var executionMs: Double

        enum CodingKeys: String, CodingKey {
            case index, code, observation, error
            case modelOutput = "model_output"
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
            case modelMs = "model_ms"
            case executionMs = "execution_ms"
        }
    }

    public var task: String
    public var preset: String
    public var model: String
    public var messages: [ChatMessage] = []
    public var steps: [Step] = []
    public var answer: String?
    public var error: String?
    public var totalTokens = 0
    public var durationMs: Double = 0
    /// The shadow copy's diff at the end (nil for a read-only or scratch workspace with no changes).
    public var diff: String?

    enum CodingKeys: String, CodingKey {
        case task, preset, model, messages, steps, answer, error, diff
        case totalTokens = "total_tokens"
        case durationMs = "duration_ms"
    }
}
