/// One message of a chat-completions conversation.
public struct ChatMessage: Sendable, Codable, Equatable {
    public var role: String
    public var content: String
    public init(role: String, content: String) { self.role = role; self.content = content }
    public static func system(_ text: String) -> ChatMessage { ChatMessage(role: "system", content: text) }
    public static func user(_ text: String) -> ChatMessage { ChatMessage(role: "user", content: text) }
    public static func assistant(_ text: String) -> ChatMessage { ChatMessage(role: "assistant", content: text) }
}

/// A model's reply and what it cost.
public struct Completion: Sendable, Codable, Equatable {
    public var content: String
    public var promptTokens: Int
    public var completionTokens: Int
    /// Tries it took (1: answered at once).
    public var attempts: Int

    public var totalTokens: Int { promptTokens + completionTokens }

    enum CodingKeys: String, CodingKey {
        case content, attempts
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
    }
}
