@testable import CorralEngine
@testable import CorralHTTP
import Foundation
import Glibc
import HTTPTypes
import Hummingbird
import NIOCore
import Testing

/// The Jupyter proxy buffers each answer whole (up to 256 MiB): code in a session can make every
/// answer that big (serve a large file, or listen on Jupyter's port itself), and a caller can ask
/// for as many at once as it likes. All answers together are held within one budget; past it a
/// request is refused with 429 `limit_reached`, and nothing stays counted afterwards.
@Suite(.serialized)
struct JupyterProxyBudgetTests {
    /// A fake Jupyter on the far end of a socket pair: an HTTP/1.0 head and `bytes` of body, then close.
    static func fakeJupyter(answering bytes: Int) throws -> Int32 {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else { throw POSIXError(.EIO) }
        let far = pair[1]
        Thread {
            // The request first (a Jupyter reads it: closing on it unread would reset the connection).
            var request: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !request.suffix(4).elementsEqual([13, 10, 13, 10]) {
                let n = buffer.withUnsafeMutableBytes { recv(far, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                request += buffer[0..<n]
            }
            var chunk = [UInt8]("HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
            var left = bytes
            while true {
                let sent = chunk.withUnsafeBytes { send(far, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if sent <= 0 || left == 0 { break }  // the proxy gave up on it, or all is sent
                let next = min(left, 1 << 20)
                left -= next
                chunk = [UInt8](repeating: 0x61, count: next)
            }
            close(far)
        }.start()
        return pair[0]
    }

    /// Counts what a response body writes.
    final class CountingWriter: ResponseBodyWriter, @unchecked Sendable {
        let count: (Int) -> Void
        init(_ count: @escaping (Int) -> Void) { self.count = count }
        func write(_ buffer: ByteBuffer) async throws { count(buffer.readableBytes) }
        func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }

    @Test func concurrentAnswersShareOneBudget() async throws {
        let each = 200 << 20  // four of them are over the 512 MiB budget
        let server = JupyterServer(token: "t", basePath: "/v1/sessions/s/jupyter/", processID: 1)
        let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<4 {
                let fd = try Self.fakeJupyter(answering: each)
                group.addTask {
                    let request = Request(head: HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/api/contents/big"),
                                          body: RequestBody(buffer: ByteBuffer()))
                    do {
                        let response = try await JupyterProxy.forward(request, body: ByteBuffer(), to: (server, fd), answerSeconds: 60)
                        return "ok \(response.status.code)"
                    } catch let error as APIError {
                        return "\(error.code.rawValue) \(error.retryAfterSeconds.map(String.init) ?? "-")"
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        // Every request that needed more than the budget had left was refused (here, as they fill
        // at the same pace, each of them can be); none was served past it, and nothing stays counted.
        #expect(outcomes.contains("limit_reached 2"), "\(outcomes)")
        #expect(outcomes.allSatisfy { $0 == "limit_reached 2" || $0 == "ok 200" }, "\(outcomes)")
        #expect(JupyterProxy.held.waiting == 0, "bytes still counted after every request ended: \(JupyterProxy.held.waiting)")
        // The budget is free again: a 1 MiB answer is served whole.
        let request = Request(head: HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/api/contents/small"),
                              body: RequestBody(buffer: ByteBuffer()))
        let response = try await JupyterProxy.forward(request, body: ByteBuffer(), to: (server, try Self.fakeJupyter(answering: 1 << 20)),
                                                      answerSeconds: 60)
        #expect(response.status.code == 200)
        var body = response.body
        var received = 0
        let writer = CountingWriter { received += $0 }
        try await body.write(writer)
        #expect(received == 1 << 20)
        #expect(JupyterProxy.held.waiting == 0)
    }
}
