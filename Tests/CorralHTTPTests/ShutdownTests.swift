import CorralEngine
import CorralHTTP
import CorralStore
import CorralTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import ServiceLifecycle
import Testing

@Suite(.enabled(if: TestSupport.jailsAvailable))
struct ShutdownTests {
    @Test("graceful shutdown with a run in flight: the run finishes, its result is answered and recorded")
    func gracefulShutdownRecordsInFlight() async throws {
        let service = try TestService()
        let port = PortBox()
        let app = service.server.application(logger: Logger(label: "shutdown-test")) { port.set($0) }
        let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "group")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let deadline = Date().addingTimeInterval(10)
            while port.get() == 0 && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
            let url = URL(string: "http://127.0.0.1:\(port.get())/v1/execute")!
            let request = ["code": "import time\ntime.sleep(1)\nprint('finished')", "language": "python"]
            async let answer = HTTPPost.raw(url, request)
            try await Task.sleep(for: .milliseconds(400))
            await group.triggerGracefulShutdown()
            let (status, data, _) = try await answer
            let body = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
            #expect(status == 200)
            #expect(body["stdout"] as? String == "finished\n")
            let id = try #require(body["execution_id"] as? String)
            try await tasks.waitForAll()
            await service.engine.shutdown()
            let record = try await service.engine.history.execution(id: id)
            #expect(record?.status == "success")
        }
    }
}

final class PortBox: @unchecked Sendable {
    private let lock = NSLock()
    private var port = 0
    func set(_ p: Int) { lock.lock(); port = p; lock.unlock() }
    func get() -> Int { lock.lock(); defer { lock.unlock() }; return port }
}

/// A minimal HTTP/1.1 POST over a socket (no client library stands between the test and the server).
enum HTTPPost {
    /// Status, body and the Retry-After header.
    static func raw(_ url: URL, _ object: [String: String]) async throws -> (Int, Data, String?) {
        let body = try JSONSerialization.data(withJSONObject: object)
        let port = UInt16(url.port!), path = url.path
        // Blocking socket calls run on their own thread: on the cooperative pool (2 threads on 2 cores)
        // two waiting requests would starve the server they wait for.
        return try await onDedicatedThread { () throws -> (Int, Data, String?) in
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(port.bigEndian)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard rc == 0 else { throw URLError(.cannotConnectToHost) }
            let head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
            let request = Data(head.utf8) + body
            _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            var response = Data()
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n <= 0 { break }
                response.append(contentsOf: buffer[0..<n])
            }
            let text = String(decoding: response, as: UTF8.self)
            let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
            let parts = text.components(separatedBy: "\r\n\r\n")
            let bodyText = parts.dropFirst().joined(separator: "\r\n\r\n")
            let retryAfter = parts.first?.split(separator: "\r\n").first { $0.lowercased().hasPrefix("retry-after:") }
                .map { $0.dropFirst("retry-after:".count).trimmingCharacters(in: .whitespaces) }
            return (status, Data(bodyText.utf8), retryAfter)
        }
    }

    static func onDedicatedThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }
}
