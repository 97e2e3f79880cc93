@testable import CorralHTTP
import Foundation
import Testing

/// The Jupyter proxy's reader of what a server in the session sends (unmasked RFC 6455 frames).
@Suite("WebSocket frame reader")
struct WebSocketFrameReaderTests {
    static func frame(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true) -> [UInt8] {
        var out: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        if payload.count < 126 { out.append(UInt8(payload.count)) } else if payload.count <= 0xffff {
            out += [126, UInt8(payload.count >> 8), UInt8(payload.count & 0xff)]
        } else {
            out.append(127)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8((UInt64(payload.count) >> UInt64(shift)) & 0xff)) }
        }
        return out + payload
    }

    static let stream = frame(0x1, Array("hello".utf8)) + frame(0xA, []) + frame(0x2, [1, 2, 3], fin: false) + frame(0x0, [4, 5])
        + frame(0x9, [7]) + frame(0x2, Array(repeating: 9, count: 70_000)) + frame(0x8, [3, 232])

    static func describe(_ m: WebSocketFrameReader.Message) -> String {
        switch m {
        case .text(let b): "text \(String(decoding: b, as: UTF8.self))"
        case .binary(let b): "binary \(b.count) \(b.prefix(5))"
        case .ping(let b): "ping \(b)"
        case .close: "close"
        }
    }

    static let expected = ["text hello", "binary 5 [1, 2, 3, 4, 5]", "ping [7]", "binary 70000 [9, 9, 9, 9, 9]", "close"]

    @Test("messages come out whole and in order, however the bytes are cut", arguments: [1, 2, 3, 7, 100, 65_536, 1 << 20])
    func anyCut(size: Int) throws {
        var reader = WebSocketFrameReader()
        var out: [String] = []
        var at = 0
        while at < Self.stream.count {
            reader.pending += Self.stream[at..<min(at + size, Self.stream.count)]
            at += size
            while let message = try reader.next() { out.append(Self.describe(message)) }
        }
        #expect(out == Self.expected)
    }

    @Test("a read of 500,000 tiny frames is taken in linear time (a pong flood from a server in the session)")
    func pongFlood() throws {
        var reader = WebSocketFrameReader()
        let pong = Self.frame(0xA, [])
        reader.pending = Array([[UInt8]](repeating: pong, count: 500_000).joined()) + Self.frame(0x1, Array("after".utf8))
        let start = Date()
        let message = try reader.next()
        let seconds = Date().timeIntervalSince(start)
        #expect(message.map(Self.describe) == "text after")
        // Removing each frame from the front moved ~1 MB per frame: minutes. Linear is milliseconds.
        #expect(seconds < 5, "\(seconds) s for 500,000 frames")
    }
}
