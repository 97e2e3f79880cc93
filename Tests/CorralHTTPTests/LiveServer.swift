import CorralTestSupport
import Foundation
import Glibc
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing

// A live test server and its client, with a deadline on every wait.
//
// HummingbirdTesting's live framework waited without a deadline in three places that CI hit:
// for the port (a server that never binds), for a response (its 20 s read timeout leaves the
// task group awaiting an uncancellable future, so the timeout itself hangs), and for the server's
// end. One such wait left the whole run idle until CI's 90 minutes were up. Here each wait has a
// deadline and ends in a test failure that says what was pending.

/// A response of the live test server.
struct LiveResponse: Sendable {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let body: ByteBuffer
}

/// A client of the live test server: one connection per request (`Connection: close`), made on a
/// thread of its own (blocking socket calls must not hold the cooperative pool that the server
/// under test runs on), with a deadline on connecting, sending and every read.
struct LiveClient: Sendable {
    /// The server's port (optional, as tests `#require` it).
    let port: Int?
    /// Seconds a request may wait for the next bytes of its answer.
    var readTimeoutSeconds = 120

    /// Sends a request and gives its response to `callback`.
    @discardableResult
    func execute<Return>(uri: String, method: HTTPRequest.Method, headers: HTTPFields = [:], body: ByteBuffer? = nil,
                         _ callback: @escaping (LiveResponse) async throws -> Return) async throws -> Return {
        let port = self.port ?? 0, timeout = readTimeoutSeconds
        let bytes = body.map { Array($0.readableBytesView) }
        // A request with no answer before the deadline fails with the state of the server's sockets,
        // threads and stacks (`exchange`). (A session's frame thread once read a request whose
        // connection had reused a pipe number closed under it: see SessionJail.)
        let response = try await LiveClient.onOwnThread {
            try LiveClient.exchange(port: port, method: method, uri: uri, headers: headers, body: bytes, timeoutSeconds: timeout)
        }
        return try await callback(response)
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// One request and its whole response over a new loopback connection.
    static func exchange(port: Int, method: HTTPRequest.Method, uri: String, headers: HTTPFields, body: [UInt8]?,
                         timeoutSeconds: Int) throws -> LiveResponse {
        let what = "\(method) \(uri)"
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "\(what): socket: errno \(errno)") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(clamping: port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "\(what): connect to port \(port): errno \(errno)") }

        var head = "\(method.rawValue) \(uri) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for field in headers where field.name != .connection && field.name != .contentLength && field.name.canonicalName != "host" {
            head += "\(field.name.rawName): \(field.value)\r\n"
        }
        if let body { head += "Content-Length: \(body.count)\r\n" }
        let request = Array((head + "\r\n").utf8) + (body ?? [])
        // The server may answer (413, 400) before it has read the whole request: sending stops
        // once the answer has begun.
        var sent = 0
        while sent < request.count {
            var ready = pollfd(fd: fd, events: Int16(POLLIN | POLLOUT), revents: 0)
            let polled = poll(&ready, 1, Int32(timeoutSeconds * 1000))
            if polled < 0 && errno == EINTR { continue }
            guard polled > 0 else { throw Failure(description: "\(what): the server took no bytes for \(timeoutSeconds) s (\(sent) sent)") }
            if ready.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 { break }
            let n = request[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            if n <= 0 { break }
            sent += n
        }

        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    throw Failure(description: "\(what): no answer within \(timeoutSeconds) s (\(received.count) bytes so far); "
                                  + connectionDiagnosis(port: port, timeoutSeconds: timeoutSeconds) + "; " + StartProbe.processDiagnosis())
                }
                if errno == ECONNRESET, !received.isEmpty { break }
                throw Failure(description: "\(what): recv: errno \(errno) after \(received.count) bytes")
            }
            received += buffer[0..<n]
        }
        return try parse(received, what: what, method: method)
    }

    /// For a request that got no answer: the server's sockets as the kernel sees them (a listening
    /// socket's Recv-Q is its accept queue), and whether a new connection is served meanwhile.
    static func connectionDiagnosis(port: Int, timeoutSeconds: Int) -> String {
        let sockets = TestSupport.hostShell("ss -tanp '( sport = :\(port) or dport = :\(port) )' | head -12").1
        let health: String
        if timeoutSeconds > 10 {
            do {
                let answer = try exchange(port: port, method: .get, uri: "/healthz", headers: [:], body: nil, timeoutSeconds: 10)
                health = "a new connection's GET /healthz meanwhile: \(answer.status.code)"
            } catch { health = "a new connection's GET /healthz meanwhile: \(error)" }
        } else { health = "" }
        return "sockets of port \(port): \(sockets.split(separator: "\n").joined(separator: " | ")); \(health)"
    }

    /// An HTTP/1.1 response read to the connection's end: status, headers, body (chunked or not).
    static func parse(_ bytes: [UInt8], what: String, method: HTTPRequest.Method) throws -> LiveResponse {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = bytes.firstRange(of: separator) else {
            throw Failure(description: "\(what): the connection closed before a whole response head (\(bytes.count) bytes)")
        }
        let lines = String(decoding: bytes[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = (lines.first ?? "").split(separator: " ", maxSplits: 2)
        guard statusParts.count >= 2, let code = Int(statusParts[1]) else {
            throw Failure(description: "\(what): a bad status line: \(lines.first ?? "")")
        }
        var headers = HTTPFields()
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":"), let name = HTTPField.Name(String(line[..<colon])) else { continue }
            headers.append(HTTPField(name: name, value: line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        var body = Array(bytes[end.upperBound...])
        if method == .head || code == 204 || code == 304 { body = [] }
        if headers[.transferEncoding]?.lowercased().contains("chunked") == true {
            body = try dechunk(body, what: what)
        } else if let length = headers[.contentLength].flatMap({ Int($0) }), length <= body.count {
            body = Array(body.prefix(length))
        }
        return LiveResponse(status: HTTPResponse.Status(code: code), headers: headers, body: ByteBuffer(bytes: body))
    }

    static func dechunk(_ bytes: [UInt8], what: String) throws -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while true {
            guard let lineEnd = bytes[i...].firstRange(of: [13, 10]) else {
                throw Failure(description: "\(what): a chunked body cut short (\(out.count) bytes decoded)")
            }
            let sizeText = String(decoding: bytes[i..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else {
                throw Failure(description: "\(what): a bad chunk size \(sizeText.debugDescription)")
            }
            i = lineEnd.upperBound
            if size == 0 { return out }
            guard i + size <= bytes.count else { throw Failure(description: "\(what): a chunk cut short") }
            out += bytes[i..<(i + size)]
            i += size + 2
        }
    }
}

/// Records how far a live test server got: its services started, the port it listens on, a
/// graceful shutdown asked for, its end.
final class StartProbe: Service, Sendable {
    private let log = Mutex<[String]>([])
    private let started = Date()
    private let listening = Mutex<Int?>(nil)
    private let finished = Mutex(false)

    func note(_ event: String) {
        log.withLock { $0.append(String(format: "+%.3f s ", Date().timeIntervalSince(started)) + event) }
    }
    var events: [String] { log.withLock { $0 } }
    var port: Int? { listening.withLock { $0 } }
    var hasEnded: Bool { finished.withLock { $0 } }

    func listens(on port: Int) {
        listening.withLock { $0 = port }
        note("listening on \(port)")
    }

    func ended(_ outcome: String) {
        note(outcome)
        finished.withLock { $0 = true }
    }

    func run() async throws {
        note("services started")
        try? await gracefulShutdown()
        note("graceful shutdown asked for")
    }

    /// Pending, blocked and ignored signals, and each thread's name and kernel wait channel.
    static func processDiagnosis() -> String {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let signals = status.split(separator: "\n").filter { $0.hasPrefix("Sig") || $0.hasPrefix("ShdPnd") }.joined(separator: " ")
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        let threads = tasks.sorted().map { tid -> String in
            let name = ((try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8)) ?? "?").trimmingCharacters(in: .whitespacesAndNewlines)
            let wchan = (try? String(contentsOfFile: "/proc/self/task/\(tid)/wchan", encoding: .utf8)) ?? "?"
            return "\(tid) \(name) \(wchan)"
        }
        return "signals: \(signals); threads: \(threads.joined(separator: ", "))" + stacks()
    }

    /// Every thread's stack, by gdb where the host has it, saved to a file named in the message.
    static func stacks() -> String {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/gdb") else { return "" }
        let path = NSTemporaryDirectory() + "corral-test-stacks-\(getpid())-\(Int(Date().timeIntervalSince1970)).txt"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/gdb")
        p.arguments = ["-p", "\(getpid())", "-batch", "-ex", "thread apply all bt 30"]
        guard FileManager.default.createFile(atPath: path, contents: nil), let out = FileHandle(forWritingAtPath: path) else { return "" }
        p.standardOutput = out
        p.standardError = out
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch { return "" }
        p.waitUntilExit()
        try? out.close()
        return "; every thread's stack: \(path)"
    }
}

extension TestService {
    /// Runs `body` with a client of this service's server, live on a loopback port; then stops the
    /// server. Every wait has a deadline: a server that does not start, a request with no answer and
    /// a server that does not stop are test failures that say what was pending, never a hung run.
    func live(_ body: @escaping @Sendable (LiveClient) async throws -> Void) async throws {
        let probe = StartProbe()
        let app = server.application(logger: Logger(label: "test-http"), services: [probe]) { port in probe.listens(on: port) }
        // No signal handling: a stray SIGTERM to the test process must not stop a test's server.
        let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "test-live")))
        let running = Task {
            do { try await group.run(); probe.ended("ended") } catch { probe.ended("ended with \(error)") }
        }
        let startDeadline = Date().addingTimeInterval(60)
        while probe.port == nil, !probe.hasEnded, Date() < startDeadline { try await Task.sleep(nanoseconds: 5_000_000) }
        guard let port = probe.port else {
            await group.triggerGracefulShutdown()
            running.cancel()
            await engine.shutdown(closingRuntime: false)
            throw LiveClient.Failure(description: "the live test server did not start within 60 s: \(probe.events); \(StartProbe.processDiagnosis())")
        }
        var failure: (any Error)?
        do { try await body(LiveClient(port: port)) } catch { failure = error }
        await group.triggerGracefulShutdown()
        let stopDeadline = Date().addingTimeInterval(30)
        while !probe.hasEnded, Date() < stopDeadline { try? await Task.sleep(nanoseconds: 5_000_000) }
        if !probe.hasEnded {
            running.cancel()
            let pending = "\(probe.events); \(StartProbe.processDiagnosis())"
            Issue.record("the live test server did not stop within 30 s of its graceful shutdown (a request it still serves?): \(pending)")
        }
        // As a server's shutdown does: no session, task or analyzer worker outlives its test (the
        // runtime and its warm pools are shared by every test).
        await engine.shutdown(closingRuntime: false)
        try? FileManager.default.removeItem(atPath: dataDirectory)
        if let failure { throw failure }
    }
}
