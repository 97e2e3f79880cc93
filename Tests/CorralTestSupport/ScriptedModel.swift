import Foundation

/// A scripted OpenAI-compatible model (`scripts/testing/scripted-llm.py`) on a free loopback port:
/// it replays the replies a test gives, in order, and records every request it gets. The agent's
/// HTTP client talks to it exactly as to vLLM or llama.cpp's server.
public final class ScriptedModel: @unchecked Sendable {
    public let server: LocalServer

    /// One scripted answer: a reply's text (200), or an HTTP failure, after `delay` seconds.
    public struct Reply: Sendable {
        var object: [String: any Sendable]
        public static func text(_ content: String, delay: Double = 0) -> Reply { Reply(object: ["content": content, "delay": delay]) }
        public static func code(_ python: String, prose: String = "Let me do that.") -> Reply {
            .text("\(prose)\n```python\n\(python)\n```")
        }
        public static func failure(_ status: Int, delay: Double = 0) -> Reply { Reply(object: ["status": status, "delay": delay]) }
        /// These bytes as the whole response, one every `trickle` seconds (a broken or hostile server).
        public static func raw(_ bytes: String, trickle: Double = 0) -> Reply { Reply(object: ["raw": bytes, "trickle": trickle]) }
        public static func usage(_ content: String, promptTokens: Int, completionTokens: Int) -> Reply {
            Reply(object: ["content": content, "usage": ["prompt_tokens": promptTokens, "completion_tokens": completionTokens,
                                                          "total_tokens": promptTokens + completionTokens]])
        }
    }

    public init(_ replies: [Reply]) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/testing/scripted-llm.py").path
        server = LocalServer(name: "scripted-llm", arguments: ["/usr/bin/python3", script, "--port", "{port}", "--dir", "{dir}"])
        try setReplies(replies)
        try server.start()
    }

    /// The base URL the agent is given.
    public var url: String { "http://127.0.0.1:\(server.port)/v1" }

    public func setReplies(_ replies: [Reply]) throws {
        let data = try JSONSerialization.data(withJSONObject: replies.map(\.object))
        // Atomically (a new file): the server starts a new script from its first reply.
        try data.write(to: URL(fileURLWithPath: server.directory + "/script.json"), options: .atomic)
    }

    /// Every request so far: its path, Authorization header and JSON body.
    public var requests: [[String: Any]] {
        let text = (try? String(contentsOfFile: server.directory + "/requests.jsonl", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// The messages of request `index` (0-based).
    public func messages(_ index: Int) -> [[String: Any]] {
        let all = requests
        guard index < all.count, let body = all[index]["body"] as? [String: Any] else { return [] }
        return body["messages"] as? [[String: Any]] ?? []
    }

    /// Stops the server; what it recorded stays readable until the model is gone.
    public func stop() { server.stop() }

    deinit { server.remove() }
}
