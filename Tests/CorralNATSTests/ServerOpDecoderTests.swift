@testable import CorralNATSClient
import NIOCore
import Testing

/// The protocol parser on byte streams cut anywhere, and on what a broken server could send.
struct ServerOpDecoderTests {
    static func decodeAll(_ chunks: [String]) throws -> [ServerOp] {
        var buffer = ByteBuffer()
        var ops: [ServerOp] = []
        for chunk in chunks {
            buffer.writeString(chunk)
            while let op = try ServerOpDecoder.next(&buffer) { ops.append(op) }
        }
        return ops
    }

    @Test("a stream split at every byte decodes to the same operations")
    func splitAnywhere() throws {
        let stream = "INFO {\"server_id\":\"S\",\"version\":\"2.9\",\"max_payload\":1048576}\r\nPING\r\n"
            + "MSG a.b 7 _INBOX.x 5\r\nhello\r\nHMSG c 8 26 28\r\nNATS/1.0\r\nK: v\r\nX-Y: z\r\n\r\nhi\r\n+OK\r\nMSG e 9 0\r\n\r\n-ERR 'Stale Connection'\r\n"
        let whole = try Self.decodeAll([stream])
        #expect(whole.count == 7)
        let bytes = Array(stream.utf8)
        for cut in 1..<bytes.count {
            let parts = [String(decoding: bytes[..<cut], as: UTF8.self), String(decoding: bytes[cut...], as: UTF8.self)]
            #expect(try Self.decodeAll(parts).count == 7, "cut at \(cut)")
        }
        guard case .message(let sid, let m) = whole[2] else { Issue.record("not a message: \(whole[2])"); return }
        #expect(sid == 7 && m.subject == "a.b" && m.replyTo == "_INBOX.x" && m.payload == Array("hello".utf8))
        guard case .message(let hsid, let hm) = whole[3] else { Issue.record("not a message"); return }
        #expect(hsid == 8 && hm.headers?["k"] == "v" && hm.headers?["X-Y"] == "z" && hm.payload == Array("hi".utf8))
        guard case .error(let text) = whole[6] else { Issue.record("not an error"); return }
        #expect(text == "Stale Connection")
    }

    /// Any publisher chooses a reply subject, and the server passes it on byte for byte. A space
    /// followed by a combining mark (or a prepend mark followed by a space) is one Character:
    /// split by Character, the MSG line was refused and the connection to every instance dropped.
    @Test("reply subjects that join the separator into one Character decode as the server sent them", arguments: [
        ("MSG a 1 \u{301}evil 2\r\nhi\r\n", "\u{301}evil"),
        ("MSG a 1 evil\u{600} 2\r\nhi\r\n", "evil\u{600}"),
        ("HMSG a 1 \u{200D}r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n", "\u{200D}r"),
    ])
    func graphemeJoinedSeparators(_ input: String, _ reply: String) throws {
        let ops = try Self.decodeAll([input])
        guard ops.count == 1, case .message(let sid, let m) = ops[0] else { Issue.record("not one message: \(ops)"); return }
        #expect(sid == 1 && m.subject == "a" && m.replyTo == reply && m.payload == Array("hi".utf8))
    }

    @Test("malformed lines are protocol errors, never a crash", arguments: [
        "MSG a\r\n", "MSG a x 5\r\nhello\r\n", "MSG a 1 -5\r\n", "MSG a 1 99999999999999999999\r\n",
        "HMSG a 1 10 5\r\nxxxxx\r\n", "BOGUS\r\n", "INFO {not json}\r\n", "MSG a 1 999999999\r\n",
    ])
    func malformed(_ input: String) {
        #expect(throws: NATSError.self) { _ = try Self.decodeAll([input]) }
    }

    @Test("a control line without an end is refused past its bound")
    func endlessLine() {
        #expect(throws: NATSError.self) { _ = try Self.decodeAll([String(repeating: "x", count: ServerOpDecoder.maxControlLine + 1)]) }
    }

    @Test("a 503 status header is read (no responders)")
    func statusHeader() throws {
        let ops = try Self.decodeAll(["HMSG _INBOX.a.1 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\n"])
        guard case .message(_, let m) = ops.first else { Issue.record("no message"); return }
        #expect(m.headers?.status == 503 && m.payload.isEmpty)
    }
}
