import Foundation
import NIOCore

/// The server's INFO fields this client uses.
public struct NATSServerInfo: Sendable, Decodable {
    public var serverID: String
    public var version: String
    /// The largest message (headers and payload) the server accepts.
    public var maxPayload: Int
    public var headers: Bool?
    public var authRequired: Bool?

    enum CodingKeys: String, CodingKey {
        case serverID = "server_id", version, maxPayload = "max_payload", headers, authRequired = "auth_required"
    }
}

/// One protocol operation from the server.
enum ServerOp: Sendable {
    case info(NATSServerInfo)
    case message(sid: UInt64, NATSMessage)
    case ping, pong, ok
    case error(String)
}

/// Splits the server's byte stream into operations. A control line is bounded (an INFO with a
/// long server list fits); a message's size is read from its line and waited for whole.
struct ServerOpDecoder: ByteToMessageDecoder {
    typealias InboundOut = ServerOp

    static let maxControlLine = 64 * 1024
    /// Far above any server's max_payload (at most 64 MB): a larger size is a broken stream.
    static let maxMessageBytes = 128 << 20

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let op = try Self.next(&buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(op))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while let op = try Self.next(&buffer) { context.fireChannelRead(Self.wrapInboundOut(op)) }
        return .needMoreData
    }

    /// The next whole operation in `buffer` (consumed), or nil when more bytes are needed.
    static func next(_ buffer: inout ByteBuffer) throws -> ServerOp? {
        let view = buffer.readableBytesView
        guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > maxControlLine { throw NATSError(.protocolError, "a control line from the server exceeds \(maxControlLine) bytes") }
            return nil
        }
        let lineLength = newline - view.startIndex + 1
        var bytes = view[view.startIndex..<newline]
        if bytes.last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
        let line = String(decoding: bytes, as: UTF8.self)
        // Split on bytes, as the server does. By Character, a space followed by a combining mark
        // (a reply subject that starts with U+0301, chosen by any publisher) is one Character and
        // no separator: the MSG line was refused and the connection dropped.
        let isBlank: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        let verbEnd = bytes.firstIndex(where: isBlank) ?? bytes.endIndex
        let verb = String(decoding: bytes[..<verbEnd], as: UTF8.self).uppercased()
        let restBytes = bytes[verbEnd...].drop(while: isBlank)
        let rest = String(decoding: restBytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        let args = restBytes.split(whereSeparator: isBlank).map { String(decoding: $0, as: UTF8.self) }
        switch verb {
        case "MSG", "HMSG":
            let headered = verb == "HMSG"
            guard args.count == (headered ? 4 : 3) || args.count == (headered ? 5 : 4),
                  let sid = UInt64(args[1]), let total = Int(args[args.count - 1]), (0...maxMessageBytes).contains(total) else {
                throw NATSError(.protocolError, "the server sent a malformed \(verb) line: \(line.prefix(200))")
            }
            let headerBytes = headered ? Int(args[args.count - 2]) ?? -1 : 0
            guard (0...total).contains(headerBytes) else {
                throw NATSError(.protocolError, "the server sent a malformed \(verb) line: \(line.prefix(200))")
            }
            guard buffer.readableBytes >= lineLength + total + 2 else { return nil }
            buffer.moveReaderIndex(forwardBy: lineLength)
            let headerBlock = buffer.readBytes(length: headerBytes) ?? []
            let payload = buffer.readBytes(length: total - headerBytes) ?? []
            buffer.moveReaderIndex(forwardBy: 2)
            let replyTo = args.count == (headered ? 5 : 4) ? args[2] : nil
            let headers = headered ? NATSHeaders.parse(headerBlock) : nil
            return .message(sid: sid, NATSMessage(subject: args[0], replyTo: replyTo, headers: headers, payload: payload))
        case "PING":
            buffer.moveReaderIndex(forwardBy: lineLength)
            return .ping
        case "PONG":
            buffer.moveReaderIndex(forwardBy: lineLength)
            return .pong
        case "+OK":
            buffer.moveReaderIndex(forwardBy: lineLength)
            return .ok
        case "-ERR":
            buffer.moveReaderIndex(forwardBy: lineLength)
            return .error(rest.trimmingCharacters(in: CharacterSet(charactersIn: "'")))
        case "INFO":
            buffer.moveReaderIndex(forwardBy: lineLength)
            do {
                return .info(try JSONDecoder().decode(NATSServerInfo.self, from: Data(rest.utf8)))
            } catch {
                throw NATSError(.protocolError, "the server's INFO is not readable JSON: \(error)")
            }
        default:
            throw NATSError(.protocolError, "unknown operation from the server: \(line.prefix(200))")
        }
    }
}

/// Hands the decoded operations to the connection, tagged with the socket they came from.
final class ServerOpHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ServerOp
    let generation: UInt64
    let onOp: @Sendable (UInt64, ServerOp) -> Void
    let onClose: @Sendable (UInt64, (any Error)?) -> Void

    init(generation: UInt64, onOp: @escaping @Sendable (UInt64, ServerOp) -> Void, onClose: @escaping @Sendable (UInt64, (any Error)?) -> Void) {
        self.generation = generation
        self.onOp = onOp
        self.onClose = onClose
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        onOp(generation, unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        onClose(generation, nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        onClose(generation, error)
        context.close(promise: nil)
    }
}
