import NIOCore

/// A Redis reply (RESP2).
public enum RESPValue: Sendable, Equatable {
    case simple(String)
    case error(String)
    case integer(Int)
    /// nil: the null bulk string (a missing key).
    case bulk([UInt8]?)
    case array([RESPValue]?)

    /// A command as RESP: an array of bulk strings.
    static func encode(_ arguments: [[UInt8]], into buffer: inout ByteBuffer) {
        buffer.writeString("*\(arguments.count)\r\n")
        for a in arguments {
            buffer.writeString("$\(a.count)\r\n")
            buffer.writeBytes(a)
            buffer.writeString("\r\n")
        }
    }

    /// The next whole value at the buffer's reader index (consumed), or nil when more bytes are needed.
    static func next(_ buffer: inout ByteBuffer) throws(RedisError) -> RESPValue? {
        var index = buffer.readerIndex
        guard let value = try parse(buffer, &index, depth: 0) else { return nil }
        buffer.moveReaderIndex(to: index)
        return value
    }

    static let maxBulkBytes = 512 << 20
    static let maxLine = 64 * 1024

    private static func line(_ buffer: ByteBuffer, _ index: inout Int) throws(RedisError) -> String? {
        let end = buffer.writerIndex
        var i = index
        while i + 1 < end {
            if buffer.getInteger(at: i, as: UInt8.self) == UInt8(ascii: "\r"), buffer.getInteger(at: i + 1, as: UInt8.self) == UInt8(ascii: "\n") {
                let text = buffer.getString(at: index, length: i - index) ?? ""
                index = i + 2
                return text
            }
            i += 1
            if i - index > maxLine { throw RedisError(.protocolError, "a reply line from Redis exceeds \(maxLine) bytes") }
        }
        return nil
    }

    private static func parse(_ buffer: ByteBuffer, _ index: inout Int, depth: Int) throws(RedisError) -> RESPValue? {
        guard depth < 32 else { throw RedisError(.protocolError, "a Redis reply nests more than 32 arrays") }
        guard index < buffer.writerIndex, let type = buffer.getInteger(at: index, as: UInt8.self) else { return nil }
        var i = index + 1
        guard let text = try line(buffer, &i) else { return nil }
        switch type {
        case UInt8(ascii: "+"):
            index = i
            return .simple(text)
        case UInt8(ascii: "-"):
            index = i
            return .error(text)
        case UInt8(ascii: ":"):
            guard let n = Int(text) else { throw RedisError(.protocolError, "Redis sent a malformed integer '\(text.prefix(40))'") }
            index = i
            return .integer(n)
        case UInt8(ascii: "$"):
            guard let n = Int(text), n >= -1, n <= maxBulkBytes else { throw RedisError(.protocolError, "Redis sent a malformed length '\(text.prefix(40))'") }
            if n == -1 { index = i; return .bulk(nil) }
            guard buffer.writerIndex - i >= n + 2 else { return nil }
            let bytes = buffer.getBytes(at: i, length: n) ?? []
            index = i + n + 2
            return .bulk(bytes)
        case UInt8(ascii: "*"):
            guard let n = Int(text), n >= -1, n <= 1 << 20 else { throw RedisError(.protocolError, "Redis sent a malformed array size '\(text.prefix(40))'") }
            if n == -1 { index = i; return .array(nil) }
            var items: [RESPValue] = []
            for _ in 0..<n {
                guard let item = try parse(buffer, &i, depth: depth + 1) else { return nil }
                items.append(item)
            }
            index = i
            return .array(items)
        default:
            throw RedisError(.protocolError, "Redis sent an unknown reply type byte \(type)")
        }
    }
}

/// What went wrong with Redis, said so the operator can act.
public struct RedisError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case invalidURL = "invalid_url", connectionFailed = "connection_failed", timeout
        case connectionLost = "connection_lost", protocolError = "protocol_error", commandFailed = "command_failed"
    }
    public var code: Code
    public var message: String
    public init(_ code: Code, _ message: String) { self.code = code; self.message = message }
    public var description: String { "Redis \(code.rawValue): \(message)" }
}
