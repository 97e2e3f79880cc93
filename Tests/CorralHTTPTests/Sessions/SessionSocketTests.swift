import CorralTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// A WebSocket to a session process: `python3 -i` and `bash -i` on a pseudo-terminal driven
/// through it (stdin, resize, exit), and what is not upgraded.
@Suite(.enabled(if: TestSupport.jailsAvailable), .serialized)
struct SessionSocketTests {
    /// Output text of the messages so far.
    static func output(_ messages: [String]) -> String {
        messages.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
            .filter { $0["type"] as? String == "output" }.compactMap { $0["data"] as? String }.joined()
    }

    static func exit(_ message: String) -> [String: Any]? {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(message.utf8))) as? [String: Any], object["type"] as? String == "exit" else { return nil }
        return object
    }

    @Test("python3 -i on a terminal: the prompt, a statement's output, a resize the program sees, exit")
    func interactivePython() async throws {
        try await TestService().live { client in
            let port = try #require(client.port)
            let id = try await client.createSession()
            let (_, started) = try await client.exec(id, "python3 -i -q", extra: ["background": true, "pty": ["cols": 80, "rows": 24]])
            let pid = try #require(started["process_id"] as? Int, "\(started)")
            let transcript = try await HTTPPost.onDedicatedThread { () throws -> (String, String, Int?) in
                let socket = try WebSocketClient(port: port, path: "/v1/sessions/\(id)/processes/\(pid)/connect")
                guard socket.upgraded else { throw WebSocketError("not upgraded: \(socket.statusLine)") }
                var all: [String] = []
                while !Self.output(all).contains(">>> ") { guard let m = try socket.receive() else { break }; all.append(m) }
                try socket.sendText(#"{"type": "stdin", "data": "print(6 * 7)\n"}"#)
                while !Self.output(all).contains("42\r\n") { guard let m = try socket.receive() else { break }; all.append(m) }
                try socket.sendText(#"{"type": "resize", "cols": 100, "rows": 30}"#)
                try socket.sendText(#"{"type": "stdin", "data": "import shutil; print('size', tuple(shutil.get_terminal_size()))\n"}"#)
                var sized: [String] = []
                while !Self.output(sized).contains("size (100, 30)") { guard let m = try socket.receive() else { break }; sized.append(m) }
                try socket.sendText(#"{"type": "stdin", "data": "exit()\n"}"#)
                var rest: [String] = []
                while let m = try socket.receive() { rest.append(m) }
                return (Self.output(all), Self.output(sized), rest.last.flatMap(Self.exit)?["exit_code"] as? Int)
            }
            #expect(transcript.0.contains(">>> ") && transcript.0.contains("42"), "\(transcript.0)")
            #expect(transcript.1.contains("size (100, 30)"), "the program saw the resize: \(transcript.1)")
            #expect(transcript.2 == 0, "the last message is the exit, code 0: \(String(describing: transcript.2))")
        }
    }

    @Test("bash -i on a terminal: a command's output, stty size after a resize, exit 3")
    func interactiveBash() async throws {
        try await TestService().live { client in
            let port = try #require(client.port)
            let id = try await client.createSession()
            let (_, started) = try await client.exec(id, "bash --norc -i", extra: ["background": true, "pty": ["cols": 80, "rows": 24]])
            let pid = try #require(started["process_id"] as? Int, "\(started)")
            let (text, exit) = try await HTTPPost.onDedicatedThread { () throws -> (String, Int?) in
                let socket = try WebSocketClient(port: port, path: "/v1/sessions/\(id)/processes/\(pid)/connect")
                guard socket.upgraded else { throw WebSocketError("not upgraded: \(socket.statusLine)") }
                try socket.sendText(#"{"type": "stdin", "data": "echo sum=$((3 + 4))\n"}"#)
                var all: [String] = []
                while !Self.output(all).contains("sum=7") { guard let m = try socket.receive() else { break }; all.append(m) }
                try socket.sendText(#"{"type": "resize", "cols": 132, "rows": 40}"#)
                try socket.sendText(#"{"type": "stdin", "data": "stty size\n"}"#)
                while !Self.output(all).contains("40 132") { guard let m = try socket.receive() else { break }; all.append(m) }
                try socket.sendText(#"{"type": "bogus"}"#)
                try socket.sendText(#"{"type": "stdin", "data": "exit 3\n"}"#)
                var last: Int?
                while let m = try socket.receive() { all.append(m); if let e = Self.exit(m) { last = e["exit_code"] as? Int } }
                return (Self.output(all), last)
            }
            #expect(text.contains("sum=7") && text.contains("40 132"), "\(text)")
            #expect(exit == 3, "\(String(describing: exit))")
        }
    }

    @Test("a second connection takes the output over (the first is told); clients that leave free what they held")
    func takeOverAndLeave() async throws {
        try await TestService().live { client in
            let port = try #require(client.port)
            let id = try await client.createSession(["processes": 32])
            let (_, started) = try await client.exec(id, "while sleep 0.05; do echo tick; done", extra: ["background": true])
            let pid = try #require(started["process_id"] as? Int, "\(started)")
            let path = "/v1/sessions/\(id)/processes/\(pid)/connect"
            let told = try await HTTPPost.onDedicatedThread { () throws -> [String] in
                let first = try WebSocketClient(port: port, path: path)
                _ = try first.receive()
                let second = try WebSocketClient(port: port, path: path)
                _ = try second.receive()
                var messages: [String] = []
                while let m = try first.receive() { messages.append(m) }
                // 40 clients that connect and leave: each attach ends with its client, or the
                // session's 32 processes (agent threads count) would run out.
                for _ in 0..<40 {
                    let brief = try WebSocketClient(port: port, path: path)
                    _ = try brief.receive()
                }
                return messages
            }
            #expect(told.last?.contains("detached") == true, "\(told.suffix(2))")
            try await Task.sleep(nanoseconds: 500_000_000)
            let (status, result) = try await client.exec(id, "echo still")
            #expect(status == .ok && result["stdout"] as? String == "still\n", "the session still runs commands: \(result)")
        }
    }

    @Test("no upgrade: a plain GET is a 400 naming the upgrade; an unknown process or session is never upgraded (the plain GET says why: 404)")
    func notUpgraded() async throws {
        try await TestService().live { client in
            let port = try #require(client.port)
            let id = try await client.createSession()
            let (_, started) = try await client.exec(id, "sleep 30", extra: ["background": true])
            let pid = try #require(started["process_id"] as? Int)
            let (plain, _, body, _) = try await client.get("/v1/sessions/\(id)/processes/\(pid)/connect")
            #expect(plain == .badRequest && "\(body)".contains("Upgrade"), "\(body)")
            let lines = try await HTTPPost.onDedicatedThread { () throws -> [String] in
                try ["/v1/sessions/\(id)/processes/4000000/connect", "/v1/sessions/nope/processes/\(pid)/connect"].map {
                    try WebSocketClient(port: port, path: $0).statusLine
                }
            }
            // The upgrade library refuses with a bare 400; asked without the upgrade, the path answers why.
            #expect(lines.allSatisfy { $0.contains(" 400 ") }, "\(lines)")
            let (unknown, _, why, _) = try await client.get("/v1/sessions/\(id)/processes/4000000/connect")
            #expect(unknown == .notFound, "\(why)")
        }
    }
}
