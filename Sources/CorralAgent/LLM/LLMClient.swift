import CorralClient
import Foundation

/// Asks an OpenAI-compatible chat-completions endpoint (`POST …/chat/completions`, non-streaming).
/// A call answered 429 or 5xx, or not answered (refused, timed out), is tried again after a growing
/// wait (`Retry-After` when the server gives one); any other answer is final.
public struct LLMClient: Sendable {
    public let settings: LLMSettings
    let endpoint: LLMSettings.Endpoint

    public init(_ settings: LLMSettings) throws(AgentError) {
        self.settings = settings
        self.endpoint = try settings.endpoint()
    }

    /// The model's next message after `messages`.
    public func complete(_ messages: [ChatMessage], model: String? = nil) async throws(AgentError) -> Completion {
        let body: [String: Any] = [
            "model": model ?? settings.model,
            "messages": messages.map { ["role": $0.role, "content": $0.content] },
            "max_tokens": settings.maxTokens,
            "temperature": 0,
        ]
        let bytes: [UInt8]
        do { bytes = [UInt8](try JSONSerialization.data(withJSONObject: body)) } catch {
            throw .model("the request could not be encoded: \(error)")
        }
        let settings = self.settings, endpoint = self.endpoint
        let result: Result<Completion, AgentError> = await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: Self.call(bytes, settings: settings, endpoint: endpoint)) }
            thread.name = "corral-llm"
            thread.start()
        }
        return try result.get()
    }

    /// Blocking: the tries of one call.
    static func call(_ body: [UInt8], settings: LLMSettings, endpoint: LLMSettings.Endpoint) -> Result<Completion, AgentError> {
        var wait = settings.backoffSeconds
        var lastFailure = ""
        let tries = settings.retries + 1
        for attempt in 1...tries {
            let connection = HTTPConnection(host: endpoint.host, port: endpoint.port, timeout: settings.timeoutSeconds)
            if let key = settings.apiKey { connection.headers = [("Authorization", "Bearer \(key)")] }
            // The endpoint is not trusted: a reply larger than this is its failure, not our memory's.
            connection.maxBodyBytes = Self.maxReplyBytes
            defer { connection.close() }
            var retryAfter: Double?
            do throws(HTTPConnection.Failure) {
                let response = try connection.request("POST", endpoint.path, body: body)
                switch response.status {
                case 200..<300:
                    return parse(response.body, attempts: attempt)
                case 429, 500...599:
                    lastFailure = "HTTP \(response.status): \(clip(response.text))"
                    retryAfter = response.header("Retry-After").flatMap(Double.init)
                default:
                    return .failure(.model("the model endpoint answered HTTP \(response.status): \(clip(response.text))"))
                }
            } catch {
                if case .timeout = error {
                    lastFailure = "no answer within \(SecondsText.text(settings.timeoutSeconds))"
                } else {
                    lastFailure = "\(error)"
                }
            }
            if attempt < tries {
                Thread.sleep(forTimeInterval: min(60, max(retryAfter ?? 0, wait)))
                wait *= 2
            }
        }
        return .failure(.model("the model at \(settings.url) failed \(tries) time(s); last: \(lastFailure)"))
    }

    /// The first choice's message and the usage; a reply without them is the model's failure.
    static func parse(_ body: [UInt8], attempts: Int) -> Result<Completion, AgentError> {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            return .failure(.model("the model endpoint answered with something that is not JSON: \(clip(String(decoding: body, as: UTF8.self)))"))
        }
        guard let choices = object["choices"] as? [[String: Any]], let message = choices.first?["message"] as? [String: Any] else {
            return .failure(.model("the model's reply has no choices[0].message: \(clip(String(decoding: body, as: UTF8.self)))"))
        }
        let content = message["content"] as? String ?? ""
        let usage = object["usage"] as? [String: Any]
        return .success(Completion(content: content, promptTokens: tokens(usage?["prompt_tokens"]),
                                   completionTokens: tokens(usage?["completion_tokens"]), attempts: attempts))
    }

    /// The most of a reply's body read (16 MiB).
    static let maxReplyBytes = 16 << 20
    /// The most tokens one count may claim: a reply's own figure, never trusted to be sane.
    static let maxTokens = 10_000_000

    /// A usage count as an Int in 0...maxTokens (a negative, fractional, huge or missing one as the endpoint gave it, clamped).
    static func tokens(_ value: Any?) -> Int {
        guard let number = value as? NSNumber else { return 0 }
        let double = number.doubleValue
        guard double.isFinite, double > 0 else { return 0 }
        return double >= Double(maxTokens) ? maxTokens : Int(double)
    }

    static func clip(_ text: String) -> String { text.count > 300 ? String(text.prefix(300)) + "…" : text }
}

/// Seconds as people read them in a message.
enum SecondsText {
    static func text(_ seconds: Double) -> String {
        seconds == seconds.rounded() && seconds < 1e9 ? "\(Int64(seconds)) s" : String(format: "%.1f s", seconds)
    }
}
