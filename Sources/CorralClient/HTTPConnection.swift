import Foundation
import Glibc

/// A blocking HTTP/1.1 client on one keep-alive TCP connection: what the CLI talks to `corral
/// serve` with, what the benchmarks' load generators run on their own threads, and what delivers
/// a task's callback. Blocking: never call it on the Swift concurrency pool's threads.
/// One thread at a time: it may move between threads (the CLI hands it to a call's thread), never be shared.
public final class HTTPConnection: @unchecked Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]

        public func header(_ name: String) -> String? {
            headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
        }
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public enum Failure: Error, CustomStringConvertible, Sendable {
        case connect(Int32)
        case send(Int32)
        case receive(Int32)
        /// The server closed the connection; `partial` when part of a response had arrived.
        case closed(partial: Bool)
        case timeout
        case malformed(String)
        /// The host name does not resolve.
        case resolve(String)

        public var description: String {
            switch self {
            case .connect(let e): "connect: \(String(cString: strerror(e)))"
            case .send(let e): "send: \(String(cString: strerror(e)))"
            case .receive(let e): "receive: \(String(cString: strerror(e)))"
            case .closed(let partial): partial ? "connection closed mid-response" : "connection closed"
            case .timeout: "timed out"
            case .malformed(let what): "malformed response: \(what)"
            case .resolve(let host): "cannot resolve the host '\(host)'"
            }
        }

        /// A short label to count failures by.
        public var kind: String {
            switch self {
            case .connect(let e): "connect \(String(cString: strerror(e)))"
            case .send(let e): "send \(String(cString: strerror(e)))"
            case .receive(let e): "receive \(String(cString: strerror(e)))"
            case .closed(let partial): partial ? "closed mid-response" : "closed"
            case .timeout: "timeout"
            case .malformed: "malformed"
            case .resolve: "resolve"
            }
        }
    }

    public let host: String
    public let port: UInt16
    /// Seconds any one request may take, sending and receiving.
    public let timeout: Double
    /// Headers sent with every request (an API key).
    public var headers: [(String, String)] = []
    /// The largest response body held in memory (a body given to `onBody` is not held); a larger
    /// one is `malformed`. A server that is not trusted (a model endpoint) gets a small one.
    public var maxBodyBytes = 1 << 30
    private var fd: Int32 = -1
    private var pending: [UInt8] = []
    /// Requests sent on the current connection (0: it is new).
    private var requestsOnConnection = 0
    public private(set) var connects = 0

    /// A connection to `host` (a name or an IPv4/IPv6 address; loopback by default) on `port`.
    public init(host: String = "127.0.0.1", port: Int, timeout: Double) {
        self.host = host
        self.port = UInt16(clamping: port)
        self.timeout = timeout
    }

    deinit { close() }

    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
        pending.removeAll()
        requestsOnConnection = 0
    }

    private func connect() throws(Failure) {
        close()
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        let name = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        guard getaddrinfo(name, String(port), &hints, &found) == 0, let first = found else { throw .resolve(host) }
        defer { freeaddrinfo(found) }
        var lastError: Int32 = ECONNREFUSED
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let info = candidate {
            candidate = info.pointee.ai_next
            let s = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard s >= 0 else { lastError = errno; continue }
            var one: Int32 = 1
            setsockopt(s, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            // Each blocking send/recv gives up after a second so the request's own deadline is checked.
            var tv = timeval(tv_sec: 1, tv_usec: 0)
            setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            if Glibc.connect(s, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 {
                fd = s
                connects += 1
                return
            }
            lastError = errno
            Glibc.close(s)
        }
        throw .connect(lastError)
    }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Sends one request and reads its response. A request that finds a reused keep-alive
    /// connection already closed by the server (nothing of a response received) is retried
    /// once on a new connection.
    /// `onBody` receives the body as it arrives (a stream of events) instead of the response holding it.
    public func request(_ method: String, _ path: String, body: [UInt8]? = nil, contentType: String = "application/json",
                        accept: String = "application/json", onBody: (([UInt8]) -> Void)? = nil) throws(Failure) -> Response {
        // An IPv6 address goes in brackets in the Host header.
        let hostHeader = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(hostHeader):\(port)\r\nConnection: keep-alive\r\nAccept: \(accept)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body { head += "Content-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n" }
        head += "\r\n"
        let bytes = Array(head.utf8) + (body ?? [])
        let deadline = Self.now() + UInt64(timeout * 1e9)
        for attempt in 0..<2 {
            if fd < 0 { try connect() }
            let reused = requestsOnConnection > 0
            requestsOnConnection += 1
            do throws(Failure) {
                try send(bytes, deadline: deadline)
                let response = try readResponse(deadline: deadline, headOnly: method == "HEAD", onBody: onBody)
                if response.header("Connection")?.lowercased() == "close" { close() }
                return response
            } catch {
                close()
                let stale: Bool = switch error {
                case .closed(partial: false), .send(EPIPE), .send(ECONNRESET), .receive(ECONNRESET): true
                default: false
                }
                if attempt == 0 && reused && stale { continue }
                throw error
            }
        }
        throw .closed(partial: false)
    }

    private func send(_ bytes: [UInt8], deadline: UInt64) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            if Self.now() > deadline { throw .timeout }
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n > 0 { offset += n; continue }
            let e = errno
            if n < 0 && (e == EINTR || e == EAGAIN || e == EWOULDBLOCK) {
                if Self.now() > deadline { throw .timeout }
                continue
            }
            throw .send(e)
        }
    }

    /// Reads at least one more byte into `pending`.
    private func fill(deadline: UInt64) throws(Failure) {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            // Before every read: a server that trickles a byte a second must not outlast the deadline.
            if Self.now() > deadline { throw .timeout }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n > 0 { pending += chunk[0..<n]; return }
            if n == 0 { throw .closed(partial: !pending.isEmpty) }
            let e = errno
            if e == EINTR || e == EAGAIN || e == EWOULDBLOCK {
                if Self.now() > deadline { throw .timeout }
                continue
            }
            throw .receive(e)
        }
    }

    private static let crlfcrlf: [UInt8] = [13, 10, 13, 10]
    private static let crlf: [UInt8] = [13, 10]

    private func index(of needle: [UInt8], from start: Int = 0) -> Int? {
        guard pending.count >= needle.count + start else { return nil }
        var i = start
        while i + needle.count <= pending.count {
            if pending[i] == needle[0] && Array(pending[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }

    /// The longest chunk-size or trailer line taken (the chunk size, its extensions, one trailer field).
    static let maxLineBytes = 8 << 10
    /// The most trailer bytes taken after the last chunk (as much as a header).
    static let maxTrailerBytes = 64 << 10

    /// The offset of the CRLF that ends the line starting at `lineStart` in `pending`, reading more
    /// as needed. Each read is searched once (no rescan of what came before), and a line longer
    /// than `maxLineBytes` is `malformed`: an endpoint that never sends the CRLF must not grow
    /// `pending` until the deadline.
    private func lineEnd(from lineStart: Int = 0, deadline: UInt64) throws(Failure) -> Int {
        var from = lineStart
        while true {
            if let end = index(of: Self.crlf, from: from) { return end }
            if pending.count - lineStart > Self.maxLineBytes { throw .malformed("a chunk-size or trailer line over \(Self.maxLineBytes) bytes") }
            from = max(lineStart, pending.count - 1)
            try fill(deadline: deadline)
        }
    }

    private func readResponse(deadline: UInt64, headOnly: Bool, onBody: (([UInt8]) -> Void)?) throws(Failure) -> Response {
        var headEnd = index(of: Self.crlfcrlf)
        while headEnd == nil {
            if pending.count > 64 << 10 { throw .malformed("header over 64 KiB") }
            let from = max(0, pending.count - 3)
            try fill(deadline: deadline)
            headEnd = index(of: Self.crlfcrlf, from: from)
        }
        let headText = String(decoding: pending[0..<headEnd!], as: UTF8.self)
        pending.removeFirst(headEnd! + 4)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw .malformed("status line '\(statusLine.prefix(80))'")
        }
        var headers: [(name: String, value: String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]).trimmingCharacters(in: .whitespaces),
                            String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
        }
        var response = Response(status: status, headers: headers, body: [])
        if headOnly || status == 204 || status == 304 || (100..<200).contains(status) { return response }
        if response.header("Transfer-Encoding")?.lowercased().contains("chunked") == true {
            while true {
                let sizeEnd = try self.lineEnd(deadline: deadline)
                let sizeText = String(decoding: pending[0..<sizeEnd], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
                    throw .malformed("chunk size '\(sizeText.prefix(20))'")
                }
                if onBody == nil, size > maxBodyBytes - response.body.count { throw .malformed("body over \(maxBodyBytes) bytes") }
                if size > maxBodyBytes { throw .malformed("a chunk over \(maxBodyBytes) bytes") }
                pending.removeFirst(sizeEnd + 2)
                if size == 0 {
                    // Trailers, then the final CRLF: each skipped where it lies (one removal at the end,
                    // not one per line).
                    var start = 0
                    var end = try self.lineEnd(from: start, deadline: deadline)
                    while end > start {
                        if end + 2 > Self.maxTrailerBytes { throw .malformed("trailers over \(Self.maxTrailerBytes) bytes") }
                        start = end + 2
                        end = try self.lineEnd(from: start, deadline: deadline)
                    }
                    pending.removeFirst(end + 2)
                    return response
                }
                while pending.count < size + 2 { try fill(deadline: deadline) }
                if let onBody { onBody(Array(pending[0..<size])) } else { response.body += pending[0..<size] }
                pending.removeFirst(size + 2)
            }
        }
        if let lengthText = response.header("Content-Length") {
            guard let length = Int(lengthText), length >= 0 else { throw .malformed("Content-Length '\(lengthText)'") }
            guard length <= maxBodyBytes else { throw .malformed("body of \(length) bytes, over \(maxBodyBytes)") }
            while pending.count < length { try fill(deadline: deadline) }
            response.body = Array(pending[0..<length])
            pending.removeFirst(length)
            return response
        }
        // No length: the body runs to the end of the connection.
        while true {
            if pending.count > maxBodyBytes { throw .malformed("body over \(maxBodyBytes) bytes") }
            do throws(Failure) { try fill(deadline: deadline) } catch {
                if case .closed = error { break }
                throw error
            }
        }
        response.body = pending
        close()
        return response
    }
}
