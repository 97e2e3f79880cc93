import Synchronization

/// A piece of a running program's output, as a streamed run delivers it (SSE, events of a task).
public struct OutputChunk: Sendable, Equatable {
    /// `stdout` or `stderr`.
    public var stream: String
    public var text: String
    public init(stream: String, text: String) { self.stream = stream; self.text = text }
}

/// Turns a stream's bytes into text chunks without splitting a UTF-8 sequence across two of them:
/// the bytes of an incomplete sequence at the end wait for the next read (or `finish`).
public final class OutputDecoder: Sendable {
    private let pending = Mutex<[String: [UInt8]]>([:])
    private let deliver: @Sendable (OutputChunk) -> Void

    public init(_ deliver: @escaping @Sendable (OutputChunk) -> Void) { self.deliver = deliver }

    public func take(_ stream: String, _ bytes: [UInt8]) {
        let text = pending.withLock { p -> String? in
            var data = (p[stream] ?? []) + bytes
            let cut = Self.completePrefix(data)
            p[stream] = Array(data[cut...])
            data.removeSubrange(cut...)
            return data.isEmpty ? nil : String(decoding: data, as: UTF8.self)
        }
        if let text { deliver(OutputChunk(stream: stream, text: text)) }
    }

    /// Delivers what is left (an incomplete sequence becomes U+FFFD).
    public func finish() {
        let left = pending.withLock { p -> [(String, [UInt8])] in
            defer { p = [:] }
            return p.filter { !$0.value.isEmpty }.map { ($0.key, $0.value) }.sorted { $0.0 < $1.0 }
        }
        for (stream, bytes) in left { deliver(OutputChunk(stream: stream, text: String(decoding: bytes, as: UTF8.self))) }
    }

    /// The length of `data` without a trailing incomplete UTF-8 sequence (at most 3 bytes held back).
    static func completePrefix(_ data: [UInt8]) -> Int {
        var i = data.count
        var back = 0
        while i > 0, back < 4 {
            let byte = data[i - 1]
            if byte & 0xC0 != 0x80 {
                // A lead byte: complete when the bytes after it are all its sequence needs.
                let need = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
                return back + 1 >= need ? data.count : i - 1
            }
            i -= 1
            back += 1
        }
        return data.count
    }
}
