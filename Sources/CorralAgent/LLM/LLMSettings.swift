import Foundation

/// Where the code agent's model is: an OpenAI-compatible chat-completions endpoint (OpenAI through
/// a local proxy, vLLM, llama.cpp's server, Ollama, LiteLLM). The key comes from
/// `CORRAL_LLM_API_KEY` and is never logged or stored with a task.
public struct LLMSettings: Sendable {
    /// The API's base (`http://127.0.0.1:11434/v1`) or the full `…/chat/completions` URL.
    public var url: String
    public var model: String
    public var apiKey: String?
    /// Seconds one model call may take (sending, thinking, answering).
    public var timeoutSeconds: Double = 120
    /// Further tries of a call answered 429 or 5xx, or not answered at all; waits grow from `backoffSeconds`.
    public var retries = 3
    public var backoffSeconds: Double = 1
    /// Most tokens of one reply.
    public var maxTokens = 2048
    /// Models a request may name besides `model` (each costs what the endpoint charges for it).
    public var otherModels: [String] = []

    /// Whether a request may ask for `name`.
    public func allows(model name: String) -> Bool { name == model || otherModels.contains(name) }

    /// The parts of `url` a connection needs.
    struct Endpoint: Sendable {
        var host: String
        var port: Int
        var path: String
    }

    public init(url: String, model: String, apiKey: String? = ProcessInfo.processInfo.environment["CORRAL_LLM_API_KEY"]) {
        self.url = url; self.model = model; self.apiKey = apiKey.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Checks the settings; throws what to fix.
    func endpoint() throws(AgentError) -> Endpoint {
        guard let parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased(), let host = parts.host, !host.isEmpty else {
            throw .configuration("--llm-url must be a URL such as http://127.0.0.1:8080/v1 (got '\(url)')")
        }
        guard scheme == "http" else {
            throw .configuration("--llm-url must be http:// (got \(scheme)://): for a hosted https API, run an OpenAI-compatible proxy "
                                 + "on this host (LiteLLM: `litellm --model gpt-4o-mini --port 4000`, then --llm-url http://127.0.0.1:4000/v1); see docs/agent.md")
        }
        guard !model.isEmpty else { throw .configuration("--llm-model is empty: name the model the endpoint serves") }
        // Bounded: the HTTP client turns the timeout into nanoseconds (a huge one would not fit).
        guard timeoutSeconds.isFinite, timeoutSeconds > 0, timeoutSeconds <= 86_400, (0...100).contains(retries),
              backoffSeconds.isFinite, backoffSeconds >= 0 else {
            throw .configuration("the model call's timeout must be above 0 s and at most a day, its retries 0 to 100, its backoff at least 0")
        }
        var path = parts.percentEncodedPath
        if path.hasSuffix("/") { path.removeLast() }
        if !path.hasSuffix("/chat/completions") { path += "/chat/completions" }
        return Endpoint(host: host, port: parts.port ?? 80, path: path)
    }
}

/// What the agent reports when it cannot go on.
public enum AgentError: Error, CustomStringConvertible, Sendable {
    /// The agent is not set up (no model, a bad URL, an unknown preset).
    case configuration(String)
    /// The model could not be asked or did not answer usably.
    case model(String)

    public var description: String {
        switch self {
        case .configuration(let s), .model(let s): s
        }
    }
}
