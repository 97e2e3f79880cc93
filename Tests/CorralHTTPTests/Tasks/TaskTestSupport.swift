import Foundation
import Glibc
import Hummingbird
import HummingbirdTesting
import NIOCore

/// Calls of the task API for tests.
extension LiveClient {
    /// Submits a task to `path` and returns its id (throws when refused).
    func submitTask(_ body: [String: Any], path: String = "/v1/tasks") async throws -> String {
        let (status, _, reply) = try await post(path, json: body)
        guard status == .accepted || status == .ok, let id = reply["task_id"] as? String else {
            throw TaskTestError("POST \(path) answered \(status): \(reply)")
        }
        return id
    }

    /// Polls `GET /v1/tasks/{id}` until the task has finished (at most `seconds`).
    func waitForTask(_ id: String, seconds: Double = 60) async throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(seconds)
        var last = ""
        while Date() < deadline {
            let (status, _, task, text) = try await get("/v1/tasks/\(id)")
            guard status == .ok else { throw TaskTestError("GET /v1/tasks/\(id) answered \(status): \(task)") }
            if let s = task["status"] as? String, ["completed", "failed", "cancelled"].contains(s) { return task }
            last = text
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw TaskTestError("task \(id) did not finish within \(seconds) s; it is: \(last)")
    }
}

struct TaskTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The entries of a zip Corral wrote (stored, not compressed): name → bytes.
enum StoredZip {
    static func entries(_ bytes: [UInt8]) -> [String: [UInt8]] {
        func le16(_ i: Int) -> Int { Int(bytes[i]) | Int(bytes[i + 1]) << 8 }
        func le32(_ i: Int) -> Int { le16(i) | le16(i + 2) << 16 }
        var out: [String: [UInt8]] = [:]
        var i = 0
        while i + 30 <= bytes.count, le32(i) == 0x0403_4b50 {
            let size = le32(i + 18), nameLength = le16(i + 26), extra = le16(i + 28)
            let start = i + 30 + nameLength + extra
            guard start + size <= bytes.count else { break }
            out[String(decoding: bytes[(i + 30)..<(i + 30 + nameLength)], as: UTF8.self)] = Array(bytes[start..<(start + size)])
            i = start + size
        }
        return out
    }
}

/// A TCP connection to a loopback port, for clients that must see bytes as they come.
enum LoopbackSocket {
    /// A connected socket whose reads give up after `timeoutSeconds`.
    static func connect(port: Int, timeoutSeconds: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TaskTestError("socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { close(fd); throw TaskTestError("connect: \(errno)") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }
}

/// A Server-Sent Events client on a plain socket, so a test sees when each event arrives (a
/// client that collects the whole body cannot tell).
enum SSEClient {
    struct Event: Sendable {
        var id: Int?
        var name: String
        var data: String
        /// Seconds since the request was sent.
        var at: Double
    }

    /// GETs `path` (or POSTs `json`) and reads events until the server ends the stream (at most
    /// `seconds`); `status` receives the response's status line.
    static func read(port: Int, path: String, json: String? = nil, headers: [String: String] = [:], seconds: Double = 60) async throws -> [Event] {
        try await HTTPPost.onDedicatedThread {
            let fd = try LoopbackSocket.connect(port: port, timeoutSeconds: Int(seconds))
            defer { close(fd) }
            var request = "\(json == nil ? "GET" : "POST") \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nConnection: close\r\n"
            for (k, v) in headers { request += "\(k): \(v)\r\n" }
            if let json { request += "Content-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\n\r\n" + json } else { request += "\r\n" }
            let start = Date()
            _ = Array(request.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            var text = ""
            var events: [Event] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n <= 0 { break }
                let at = Date().timeIntervalSince(start)
                // Without CR (Swift reads CR LF as one character, which would hide the LF): JSON data holds none.
                text += String(decoding: buffer[0..<n].filter { $0 != 13 }, as: UTF8.self)
                // Frames end with a blank line; chunk-size lines of the transfer encoding sit between them.
                while let end = text.range(of: "\n\n") {
                    let frame = text[..<end.lowerBound]
                    text = String(text[end.upperBound...])
                    var event = Event(id: nil, name: "", data: "", at: at)
                    for line in frame.split(separator: "\n") {
                        if line.hasPrefix("id: ") { event.id = Int(line.dropFirst(4)) }
                        else if line.hasPrefix("event: ") { event.name = String(line.dropFirst(7)) }
                        else if line.hasPrefix("data: ") { event.data += line.dropFirst(6) }
                    }
                    if !event.name.isEmpty { events.append(event) }
                }
            }
            return events
        }
    }
}

/// A one-thread HTTP server on a free loopback port that answers each request with the next of
/// `statuses` (the last one repeats) and keeps the bodies it received.
final class CallbackReceiver: @unchecked Sendable {
    let port: Int
    private let fd: Int32
    private let lock = NSLock()
    private var received: [Data] = []
    private let statuses: [Int]

    init(statuses: [Int]) throws {
        self.statuses = statuses
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound, listen(fd, 16) == 0 else { throw TaskTestError("cannot listen: \(errno)") }
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in serve() }.start()
    }

    var bodies: [Data] { lock.lock(); defer { lock.unlock() }; return received }

    func stop() { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }

    private func serve() {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 { return }
            var data = Data()
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = recv(client, &buffer, buffer.count, 0)
                if n <= 0 { break }
                data.append(contentsOf: buffer[0..<n])
                let text = String(decoding: data, as: UTF8.self)
                guard let end = text.range(of: "\r\n\r\n") else { continue }
                let head = text[..<end.lowerBound].lowercased()
                let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                let headBytes = text[..<end.upperBound].utf8.count
                if data.count >= headBytes + length {
                    lock.lock()
                    received.append(data.subdata(in: headBytes..<(headBytes + length)))
                    let status = statuses[min(received.count - 1, statuses.count - 1)]
                    lock.unlock()
                    let reply = "HTTP/1.1 \(status) X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    _ = Array(reply.utf8).withUnsafeBytes { send(client, $0.baseAddress, $0.count, 0) }
                    break
                }
            }
            close(client)
        }
    }
}
