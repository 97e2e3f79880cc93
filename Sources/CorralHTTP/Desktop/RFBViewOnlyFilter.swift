/// Keeps a view-only viewer's RFB stream (RFC 6143, client to server) to what watching needs: the
/// handshake, pixel formats, encodings and update requests pass; key, pointer, clipboard, resize and
/// xvp messages are dropped; anything it cannot frame ends the connection (never passed on a guess).
struct RFBViewOnlyFilter {
    struct Refused: Error { let reason: String }

    private enum Phase { case version, security, clientInit, messages }
    private var phase = Phase.version
    private var pending: [UInt8] = []
    static let maxPending = 1 << 20

    /// The bytes to pass on of what the client sent so far.
    mutating func filter(_ bytes: [UInt8]) throws(Refused) -> [UInt8] {
        pending += bytes
        var out: [UInt8] = []
        var at = 0
        func need(_ n: Int) -> Bool { pending.count - at >= n }
        func u16(_ i: Int) -> Int { Int(pending[i]) << 8 | Int(pending[i + 1]) }
        func u32(_ i: Int) -> Int { Int(pending[i]) << 24 | Int(pending[i + 1]) << 16 | Int(pending[i + 2]) << 8 | Int(pending[i + 3]) }
        loop: while true {
            switch phase {
            case .version:
                guard need(12) else { break loop }
                let version = pending[at..<(at + 12)]
                guard version.starts(with: Array("RFB 003.".utf8)), let minor = Int(String(decoding: version.dropFirst(8).prefix(3), as: UTF8.self)) else {
                    throw Refused(reason: "not an RFB protocol version")
                }
                out += version
                at += 12
                phase = minor >= 7 ? .security : .clientInit
            case .security:
                guard need(1) else { break loop }
                guard pending[at] == 1 else { throw Refused(reason: "security type \(pending[at]) (only None is served)") }
                out.append(pending[at])
                at += 1
                phase = .clientInit
            case .clientInit:
                guard need(1) else { break loop }
                out.append(pending[at])
                at += 1
                phase = .messages
            case .messages:
                guard need(1) else { break loop }
                let length: Int, pass: Bool
                switch pending[at] {
                case 0: length = 20; pass = true                                   // SetPixelFormat
                case 2: guard need(4) else { break loop }; length = 4 + 4 * u16(at + 2); pass = true  // SetEncodings
                case 3: length = 10; pass = true                                   // FramebufferUpdateRequest
                case 150: length = 10; pass = true                                 // EnableContinuousUpdates
                case 4: length = 8; pass = false                                   // KeyEvent
                case 5: length = 6; pass = false                                   // PointerEvent
                case 6:                                                            // ClientCutText
                    // Its length is an S32: negative is the Extended Clipboard form (noVNC sends its
                    // capabilities so right after the handshake) with |length| bytes after the header.
                    guard need(8) else { break loop }
                    let signed = Int32(truncatingIfNeeded: u32(at + 4))
                    let text = Int(signed.magnitude)
                    guard text <= Self.maxPending else { throw Refused(reason: "a clipboard message of \(text) bytes") }
                    length = 8 + text; pass = false
                case 250: length = 4; pass = false                                 // xvp (shutdown, reboot)
                case 251:                                                          // SetDesktopSize
                    guard need(8) else { break loop }
                    length = 8 + 16 * Int(pending[at + 6]); pass = false
                default: throw Refused(reason: "client message type \(pending[at])")
                }
                guard need(length) else { break loop }
                if pass { out += pending[at..<(at + length)] }
                at += length
            }
        }
        pending.removeFirst(at)
        guard pending.count <= Self.maxPending else { throw Refused(reason: "a message over \(Self.maxPending) bytes") }
        return out
    }
}
