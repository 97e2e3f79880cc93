import Foundation

/// The smallest WebSocket client a test needs (RFC 6455 over a plain socket): the handshake, masked
/// text frames out, text/close frames in. Blocking: use it on a dedicated thread.
final class WebSocketClient: @unchecked Sendable {
    let fd: Int32
    private var pending: [UInt8] = []
    /// The handshake's status line (`HTTP/1.1 101 …` when upgraded).
    private(set) var statusLine = ""
    /// The status code of the server's close frame, once it came.
    private(set) var closeCode: Int?

    init(port: Int, path: String, headers: [String] = []) throws {
        fd = try LoopbackSocket.connect(port: port, timeoutSeconds: 30)
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + headers.map { $0 + "\r\n" }.joined()
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        try sendAll(Array(request.utf8))
        while true {
            if let end = find([13, 10, 13, 10]) {
                statusLine = String(decoding: pending[0..<end], as: UTF8.self).components(separatedBy: "\r\n").first ?? ""
                pending.removeFirst(end + 4)
                return
            }
            try fill()
        }
    }

    deinit { close(fd) }

    var upgraded: Bool { statusLine.contains(" 101 ") }

    func sendText(_ text: String) throws { try sendFrame(Array(text.utf8), opcode: 0x1) }
    func sendBinary(_ bytes: [UInt8]) throws { try sendFrame(bytes, opcode: 0x2) }

    /// The next data message's bytes, text or binary (RFB comes in binary messages), or nil once closed.
    func receiveBytes() throws -> [UInt8]? {
        while true {
            if pending.count >= 2 {
                let opcode = pending[0] & 0x0f
                var length = Int(pending[1] & 0x7f), offset = 2
                if length == 126, pending.count >= 4 { length = Int(pending[2]) << 8 | Int(pending[3]); offset = 4 }
                else if length == 127, pending.count >= 10 { length = pending[2..<10].reduce(0) { $0 << 8 | Int($1) }; offset = 10 }
                if (length < 126 || offset > 2), pending.count >= offset + length {
                    let payload = Array(pending[offset..<(offset + length)])
                    pending.removeFirst(offset + length)
                    switch opcode {
                    case 0x1, 0x2: return payload
                    case 0x8:
                        if payload.count >= 2 { closeCode = Int(payload[0]) << 8 | Int(payload[1]) }
                        return nil
                    default: continue
                    }
                }
            }
            do { try fill() } catch let error as WebSocketError where error.closed { return nil }
        }
    }

    private func sendFrame(_ payload: [UInt8], opcode: UInt8) throws {
        var frame: [UInt8] = [0x80 | opcode]
        if payload.count < 126 { frame.append(0x80 | UInt8(payload.count)) } else {
            frame.append(0x80 | 126)
            frame += [UInt8(payload.count >> 8), UInt8(payload.count & 0xff)]
        }
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        try sendAll(frame)
    }

    /// The next text message, or nil once the server closed.
    func receive() throws -> String? {
        while true {
            if pending.count >= 2 {
                let opcode = pending[0] & 0x0f
                var length = Int(pending[1] & 0x7f)
                var offset = 2
                if length == 126, pending.count >= 4 { length = Int(pending[2]) << 8 | Int(pending[3]); offset = 4 }
                else if length == 127, pending.count >= 10 { length = pending[2..<10].reduce(0) { $0 << 8 | Int($1) }; offset = 10 }
                if (length < 126 || offset > 2), pending.count >= offset + length {
                    let payload = Array(pending[offset..<(offset + length)])
                    pending.removeFirst(offset + length)
                    switch opcode {
                    case 0x1: return String(decoding: payload, as: UTF8.self)
                    case 0x8:
                        if payload.count >= 2 { closeCode = Int(payload[0]) << 8 | Int(payload[1]) }
                        return nil
                    default: continue
                    }
                }
            }
            // A connection closed without a close frame ends the messages as one with it does.
            do { try fill() } catch let error as WebSocketError where error.closed { return nil }
        }
    }

    /// Messages until one satisfies `done` (or the socket closes); all of them.
    func receive(until done: (String) -> Bool) throws -> [String] {
        var messages: [String] = []
        while let message = try receive() {
            messages.append(message)
            if done(message) { break }
        }
        return messages
    }

    private func fill() throws {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &buffer, buffer.count, 0)
        guard n > 0 else { throw WebSocketError("the connection ended (\(n), errno \(errno))", closed: n == 0) }
        pending += buffer[0..<n]
    }

    private func find(_ needle: [UInt8]) -> Int? {
        guard pending.count >= needle.count else { return nil }
        for i in 0...(pending.count - needle.count) where Array(pending[i..<(i + needle.count)]) == needle { return i }
        return nil
    }

    private func sendAll(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw WebSocketError("send: \(errno)") }
            offset += n
        }
    }
}

struct WebSocketError: Error, CustomStringConvertible {
    let description: String
    /// The server closed the connection.
    var closed = false
    init(_ description: String, closed: Bool = false) { self.description = description; self.closed = closed }
}
