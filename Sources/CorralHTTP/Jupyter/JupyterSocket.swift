import CorralEngine
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// A WebSocket under `/v1/sessions/{id}/jupyter/` (a kernel's channels): upgraded with Corral's key,
/// then carried message by message to the same path on the session's Jupyter server, over a
/// WebSocket Corral opens inside the session (with Jupyter's token).
enum JupyterSocket {
    typealias Handler = ProcessSocket.Handler
    /// How long Jupyter has to answer a WebSocket upgrade.
    static let handshakeSeconds = 30

    static func session(_ path: String) -> String? {
        let parts = (path.split(separator: "?", maxSplits: 1).first ?? "").split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count > 5, parts[0].isEmpty, parts[1] == "v1", parts[2] == "sessions", !parts[3].isEmpty, parts[4] == "jupyter" else { return nil }
        return String(parts[3]).removingPercentEncoding ?? String(parts[3])
    }

    static func shouldUpgrade(_ head: HTTPRequest, engine: Engine, keys: APIKeyMiddleware?) async -> ShouldUpgradeResult<Handler>? {
        guard let path = head.path, let id = session(path) else { return nil }
        var caller: String?
        if let keys {
            do throws(APIError) { caller = try keys.caller(head.headerFields) } catch { return .dontUpgrade }
        }
        let context = ExecutionContext(caller: caller, requestID: UUID().uuidString.lowercased())
        // Checked only: the connection to Jupyter is made once upgraded (a client that leaves before leaks none).
        do throws(EngineError) { _ = try engine.jupyterServer(id, context: context) } catch { return .dontUpgrade }
        return .upgrade([:]) { inbound, outbound, _ in
            await serve(engine: engine, session: id, context: context, path: path, inbound: inbound, outbound: outbound)
        }
    }

    static func serve(engine: Engine, session id: String, context: ExecutionContext, path: String,
                      inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        let connection: (server: JupyterServer, fd: Int32)
        let channel: JailChannel.Bytes
        do {
            connection = try engine.jupyterConnection(id, context: context)
            channel = try await JailChannel.wrap(connection.fd)
        } catch {
            let reason = (error as? EngineError)?.message ?? "Jupyter is not reachable"
            try? await outbound.close(.unexpectedServerError, reason: String(reason.utf8.prefix(120)) ?? "Jupyter is not reachable")
            return
        }
        try? await channel.executeThenClose { fromJail, toJail in
            var key = [UInt8](repeating: 0, count: 16)
            for i in key.indices { key[i] = UInt8.random(in: 0...255) }
            let handshake = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(JupyterServer.port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: \(Data(key).base64EncodedString())\r\nSec-WebSocket-Version: 13\r\nAuthorization: token \(connection.server.token)\r\n\r\n"
            try await toJail.write(ByteBuffer(string: handshake))
            var reader = WebSocketFrameReader()
            var iterator = fromJail.makeAsyncIterator()
            var upgraded = false
            do {
                // A server in the session that never answers the upgrade must not hold this for the session's lifetime.
                let deadline = JailChannel.closing(channel, after: Self.handshakeSeconds)
                defer { deadline.cancel() }
                while !upgraded, let chunk = try await iterator.next() {
                    reader.pending += chunk.readableBytesView
                    if let end = reader.pending.firstRange(of: [13, 10, 13, 10]) {
                        let status = String(decoding: reader.pending[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n").first ?? ""
                        guard status.contains(" 101 ") else {
                            try? await outbound.close(.policyViolation, reason: String("Jupyter refused: \(status)".utf8.prefix(120)) ?? "Jupyter refused")
                            return
                        }
                        reader.pending.removeFirst(end.upperBound)
                        upgraded = true
                    }
                    guard reader.pending.count < 65536 else { return }
                }
            }
            guard upgraded else { return }
            // The client's messages go to Jupyter from a child task; Jupyter's come back on this one.
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await SessionKeepAlive.run(engine: engine, session: id, context: context) }
                group.addTask {
                    do {
                        for try await message in inbound.messages(maxSize: 64 << 20) {
                            switch message {
                            case .text(let text): try await toJail.write(ByteBuffer(bytes: WebSocketFrameReader.clientFrame(opcode: 0x1, Array(text.utf8))))
                            case .binary(let buffer): try await toJail.write(ByteBuffer(bytes: WebSocketFrameReader.clientFrame(opcode: 0x2, Array(buffer.readableBytesView))))
                            }
                        }
                    } catch {}
                    try? await toJail.write(ByteBuffer(bytes: WebSocketFrameReader.clientFrame(opcode: 0x8, [0x03, 0xE8])))
                }
                // What the reader holds counts against the proxy's shared budget (see JupyterProxy.held).
                var counted = 0
                do {
                    reading: while true {
                        while let frame = try reader.next() {
                            switch frame {
                            case .text(let bytes): try await outbound.write(.text(String(decoding: bytes, as: UTF8.self)))
                            case .binary(let bytes): try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
                            case .ping(let bytes): try await toJail.write(ByteBuffer(bytes: WebSocketFrameReader.clientFrame(opcode: 0xA, bytes)))
                            case .close: break reading
                            }
                        }
                        guard let chunk = try await iterator.next() else { break }
                        reader.pending += chunk.readableBytesView
                        let now = reader.heldBytes
                        if now > counted {
                            guard JupyterProxy.held.add(now - counted) else {
                                try? await outbound.close(.unexpectedServerError, reason: "the Jupyter proxy holds too much data; reconnect shortly")
                                break reading
                            }
                        } else {
                            JupyterProxy.held.written(counted - now)
                        }
                        counted = now
                    }
                } catch {}
                JupyterProxy.held.written(counted)
                try? await outbound.close(.normalClosure, reason: "Jupyter closed the connection")
                await group.next()
                group.cancelAll()
            }
        }
    }
}

/// RFC 6455 frames as a client reads and writes them: what Jupyter sends, reassembled into messages.
struct WebSocketFrameReader: Sendable {
    enum Message { case text([UInt8]), binary([UInt8]), ping([UInt8]), close }
    struct Malformed: Error {}
    var pending: [UInt8] = []
    private var fragments: [UInt8] = []
    private var fragmentOpcode: UInt8 = 0
    static let maxMessage = 64 << 20

    /// Bytes of `pending` already read as frames. Frames are read from this offset and `pending` is
    /// compacted once half of it is consumed: removing each frame from the front would move the rest
    /// each time, quadratic in a read full of tiny frames (what a server in the session can send).
    private var consumed = 0

    /// Bytes held: what is not yet read as frames, and a fragmented message's parts so far.
    var heldBytes: Int { pending.count + fragments.count }

    /// The next whole message in `pending`, or nil until more bytes come.
    mutating func next() throws -> Message? {
        defer {
            if consumed > 0, consumed * 2 >= pending.count {
                pending.removeFirst(consumed)
                consumed = 0
            }
        }
        while pending.count - consumed >= 2 {
            let b = consumed, available = pending.count - consumed
            let fin = pending[b] & 0x80 != 0, opcode = pending[b] & 0x0f, masked = pending[b + 1] & 0x80 != 0
            var length = Int(pending[b + 1] & 0x7f), offset = 2
            if length == 126 {
                guard available >= 4 else { return nil }
                length = Int(pending[b + 2]) << 8 | Int(pending[b + 3]); offset = 4
            } else if length == 127 {
                guard available >= 10 else { return nil }
                var big: UInt64 = 0
                for byte in pending[(b + 2)..<(b + 10)] { big = big << 8 | UInt64(byte) }
                guard big <= UInt64(Self.maxMessage) else { throw Malformed() }
                length = Int(big); offset = 10
            }
            let maskOffset = offset
            if masked { offset += 4 }
            guard available >= offset + length else { return nil }
            var payload = Array(pending[(b + offset)..<(b + offset + length)])
            if masked { for i in payload.indices { payload[i] ^= pending[b + maskOffset + i % 4] } }
            consumed += offset + length
            switch opcode {
            case 0x0:
                fragments += payload
                guard fragments.count <= Self.maxMessage else { throw Malformed() }
                if fin { defer { fragments = [] }; return fragmentOpcode == 0x1 ? .text(fragments) : .binary(fragments) }
            case 0x1, 0x2:
                if fin { return opcode == 0x1 ? .text(payload) : .binary(payload) }
                fragments = payload; fragmentOpcode = opcode
            case 0x8: return .close
            case 0x9: return .ping(payload)
            case 0xA: continue
            default: throw Malformed()
            }
        }
        return nil
    }

    /// One masked frame from the client.
    static func clientFrame(opcode: UInt8, _ payload: [UInt8]) -> [UInt8] {
        var frame: [UInt8] = [0x80 | opcode]
        if payload.count < 126 { frame.append(0x80 | UInt8(payload.count)) } else if payload.count <= 0xffff {
            frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xff)]
        } else {
            frame.append(0x80 | 127)
            for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8((UInt64(payload.count) >> UInt64(shift)) & 0xff)) }
        }
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        return frame
    }
}
