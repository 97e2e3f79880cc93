import CorralTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// `Accept: text/event-stream` on one-shot runs and session commands: output reaches the client
/// while the program still runs, and the stream ends with the same result object as the JSON answer.
@Suite(.enabled(if: TestSupport.jailsAvailable), .serialized)
struct StreamingTests {
    static let slowPrinter = "import time\nfor i in range(5):\n    print('tick', i, flush=True)\n    time.sleep(0.2)\n"

    @Test("POST /v1/execute streams: the first stdout byte arrives before the program ends; the result event closes the stream")
    func streamedExecute() async throws {
        try await TestService().live { client in
            let port = try #require(client.port)
            let body = String(decoding: try JSONSerialization.data(withJSONObject: ["language": "python", "code": Self.slowPrinter, "use_cache": false]), as: UTF8.self)
            let events = try await SSEClient.read(port: port, path: "/v1/execute", json: body)
            let outputs = events.filter { $0.name == "output" }
            let result = try #require(events.last, "\(events)")
            #expect(result.name == "result")
            #expect(outputs.count >= 3, "ticks come one by one: \(outputs.map(\.data))")
            let first = try #require(outputs.first)
            #expect(result.at - first.at >= 0.5, "the first tick arrived \(result.at - first.at) s before the end (the program runs 0.8 s)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(result.data.utf8)) as? [String: Any])
            let stdout = try #require(object["stdout"] as? String)
            #expect(stdout == (0..<5).map { "tick \($0)\n" }.joined())
            let streamed = outputs.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.data.utf8)) as? [String: Any])?["text"] as? String }.joined()
            #expect(streamed == stdout, "the chunks add up to the result's stdout")
        }
    }

    @Test("a streamed request the engine refuses is an ordinary HTTP error, not a stream")
    func refusedStream() async throws {
        try await TestService().live { client in
            var headers = HTTPFields()
            headers[.accept] = "text/event-stream"
            let (status, responseHeaders, body) = try await client.post("/v1/execute", json: ["language": "cobol", "code": "x"], headers: headers)
            #expect(status == .badRequest)
            #expect(responseHeaders[.contentType] == "application/json", "\(body)")
        }
    }

    @Test("session exec streams the same way; a background command still answers with its process id")
    func streamedSessionExec() async throws {
        try await TestService().live { client in
            let port = try #require(client.port)
            let id = try await client.createSession()
            let body = #"{"command": "for i in 1 2 3 4; do echo out $i; echo err $i >&2; sleep 0.2; done"}"#
            let events = try await SSEClient.read(port: port, path: "/v1/sessions/\(id)/exec", json: body)
            let outputs = events.filter { $0.name == "output" }
            #expect(outputs.contains { $0.data.contains(#""stream":"stderr""#) } && outputs.contains { $0.data.contains(#""stream":"stdout""#) })
            let result = try #require(events.last)
            #expect(result.name == "result" && result.at - (outputs.first?.at ?? result.at) >= 0.4, "\(events.map { ($0.name, $0.at) })")
            var headers = HTTPFields()
            headers[.accept] = "text/event-stream"
            let (status, _, started) = try await client.post("/v1/sessions/\(id)/exec", json: ["command": "sleep 1", "background": true], headers: headers)
            #expect(status == .ok && started["process_id"] is Int, "\(started)")
        }
    }
}
