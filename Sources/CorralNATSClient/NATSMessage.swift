/// Headers of a message (NATS/1.0 headers: ordered, a name may repeat).
public struct NATSHeaders: Sendable, Equatable {
    public var fields: [(name: String, value: String)] = []
    /// The status line's code of a server-made message (503: no responders).
    public var status: Int?
    public var statusDescription: String?

    public init(_ fields: [(String, String)] = []) { self.fields = fields.map { (name: $0.0, value: $0.1) } }

    /// The first value of `name` (case-insensitive, as the server treats them).
    public subscript(_ name: String) -> String? {
        fields.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    public static func == (a: NATSHeaders, b: NATSHeaders) -> Bool {
        a.status == b.status && a.fields.map(\.name) == b.fields.map(\.name) && a.fields.map(\.value) == b.fields.map(\.value)
    }

    /// The header block as sent on the wire (`NATS/1.0\r\n` … `\r\n\r\n`). Line breaks in a name or
    /// value would end the header early: they are replaced by spaces.
    var encoded: [UInt8] {
        var text = "NATS/1.0\r\n"
        for (name, value) in fields {
            text += Self.clean(name) + ": " + Self.clean(value) + "\r\n"
        }
        text += "\r\n"
        return Array(text.utf8)
    }

    static func clean(_ s: String) -> String {
        // By scalar, not by Character: "\r\n" is one Character, equal to neither "\r" nor "\n",
        // so a CRLF in a value (an error message quoting a task's field) went through unchanged.
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: s.unicodeScalars.map { $0 == "\r" || $0 == "\n" ? " " : $0 })
        return String(scalars)
    }

    /// Parses a header block; nil when it does not start with `NATS/1.0`.
    static func parse(_ bytes: some Collection<UInt8>) -> NATSHeaders? {
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.components(separatedBy: "\r\n")
        guard let first = lines.first, first.hasPrefix("NATS/1.0") else { return nil }
        lines.removeFirst()
        var headers = NATSHeaders()
        let rest = first.dropFirst("NATS/1.0".count).trimmingCharacters(in: .whitespaces)
        if !rest.isEmpty {
            let parts = rest.split(separator: " ", maxSplits: 1)
            headers.status = Int(parts[0])
            if parts.count > 1 { headers.statusDescription = String(parts[1]) }
        }
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.fields.append((name: String(line[..<colon]), value: line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        return headers
    }
}

/// A message delivered to a subscription.
public struct NATSMessage: Sendable {
    public var subject: String
    /// Where a reply goes (the requester's inbox), if the sender expects one.
    public var replyTo: String?
    public var headers: NATSHeaders?
    public var payload: [UInt8]

    public init(subject: String, replyTo: String? = nil, headers: NATSHeaders? = nil, payload: [UInt8]) {
        self.subject = subject
        self.replyTo = replyTo
        self.headers = headers
        self.payload = payload
    }

    /// What the message holds while it waits for its consumer, counted against
    /// `pendingBytesLimit`: its payload, and its headers' text with a share for each field (1 MB of
    /// `a:` lines is 262,000 fields of 32 bytes each, and an empty payload counted nothing).
    var pendingCost: Int {
        payload.count + (headers?.fields.reduce(0) { $0 + 48 + $1.name.utf8.count + $1.value.utf8.count } ?? 0)
    }
}

import Foundation
