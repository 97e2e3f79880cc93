@testable import CorralHTTP
import Testing

/// The view-only filter (client to server RFB, RFC 6143) framing what real viewers send: noVNC's
/// opening messages include a ClientCutText whose S32 length is negative (the Extended Clipboard
/// form). Misread as 4 GB, it refused the connection, and whether the page had drawn the screen
/// by then was a race (docs/desktop.md).
@Suite("RFB view-only filter")
struct RFBViewOnlyFilterTests {
    static let handshake: [UInt8] = Array("RFB 003.008\n".utf8) + [1, 1]
    static let pixelFormat: [UInt8] = [0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]
    static let encodings: [UInt8] = [2, 0, 0, 2, 0, 0, 0, 0, 0xff, 0xff, 0xfe, 0xfc]
    static let fullUpdate: [UInt8] = [3, 0, 0, 0, 0, 0, 2, 128, 1, 224]
    static let incrementalUpdate: [UInt8] = [3, 1, 0, 0, 0, 0, 2, 128, 1, 224]
    /// noVNC's extended-clipboard capabilities: length -8, then 8 bytes (flags and one size).
    static let extendedClipboard: [UInt8] = [6, 0, 0, 0, 0xff, 0xff, 0xff, 0xf8, 0x01, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x10, 0x00]
    static let plainClipboard: [UInt8] = [6, 0, 0, 0, 0, 0, 0, 5] + Array("hello".utf8)
    static let key: [UInt8] = [4, 1, 0, 0, 0, 0, 0, 0x61]
    static let pointer: [UInt8] = [5, 1, 0, 10, 0, 20]

    static let stream = handshake + pixelFormat + encodings + fullUpdate + extendedClipboard + key + pointer + plainClipboard + incrementalUpdate
    static let expected = handshake + pixelFormat + encodings + fullUpdate + incrementalUpdate

    @Test("noVNC's opening messages: watching passes, the clipboard (extended and plain), keys and pointer are dropped")
    func novncOpeningMessages() throws {
        var filter = RFBViewOnlyFilter()
        #expect(try filter.filter(Self.stream) == Self.expected)
    }

    @Test("the same stream cut at every size from 1 to 17 bytes frames the same", arguments: 1...17)
    func anyCut(size: Int) throws {
        var filter = RFBViewOnlyFilter()
        var out: [UInt8] = []
        var at = 0
        while at < Self.stream.count {
            let end = min(at + size, Self.stream.count)
            out += try filter.filter(Array(Self.stream[at..<end]))
            at = end
        }
        #expect(out == Self.expected)
    }

    @Test("a clipboard message longer than the filter holds is refused, either sign", arguments: [
        [UInt8](arrayLiteral: 0x80, 0, 0, 0), [0x7f, 0xff, 0xff, 0xff], [0x00, 0x10, 0x00, 0x01], [0xff, 0xef, 0xff, 0xff],
    ])
    func oversizedClipboardIsRefused(length: [UInt8]) {
        var filter = RFBViewOnlyFilter()
        #expect(throws: RFBViewOnlyFilter.Refused.self) {
            _ = try filter.filter(Self.handshake + [6, 0, 0, 0] + length)
        }
    }
}
