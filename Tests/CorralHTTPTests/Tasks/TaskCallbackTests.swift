import CorralTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// `callback_url`: the final task object is POSTed to an allowed host, retried until a 2xx; any
/// other host is refused when the task is submitted.
@Suite(.enabled(if: TestSupport.jailsAvailable), .serialized)
struct TaskCallbackTests {
    @Test("the callback gets the final task object after a refused first try; the task records the delivery")
    func delivered() async throws {
        let receiver = try CallbackReceiver(statuses: [500, 200])
        defer { receiver.stop() }
        let service = try TestService(configure: {
            $0.tasks.allowedCallbackHosts = ["127.0.0.1:\(receiver.port)"]
            $0.tasks.callbackBackoffSeconds = 0.1
        })
        try await service.live { client in
            let id = try await client.submitTask(["steps": [["tool": "shell", "command": "echo hi"]],
                                                  "callback_url": "http://127.0.0.1:\(receiver.port)/hooks/corral?k=1"])
            var task: [String: Any] = [:]
            for _ in 0..<100 {
                task = try await client.get("/v1/tasks/\(id)").2
                if (task["callback"] as? [String: Any])?["status"] as? String != "pending" { break }
                try await Task.sleep(nanoseconds: 50_000_000)
            }
            let callback = try #require(task["callback"] as? [String: Any], "\(task)")
            #expect(callback["status"] as? String == "delivered" && callback["attempts"] as? Int == 2, "\(callback)")
            #expect(receiver.bodies.count == 2)
            let last = try #require(receiver.bodies.last)
            let posted = try #require(try JSONSerialization.jsonObject(with: last) as? [String: Any])
            #expect(posted["task_id"] as? String == id && posted["status"] as? String == "completed", "\(posted)")
        }
    }

    /// Each delivery is a thread holding the encoded task for up to about 65 s: with a receiver that
    /// takes connections and never answers, every finished (or cancelled) task added one, without bound.
    @Test("at most maxPendingCallbacks deliveries run at once: past it a finished task records its callback as failed, not sent")
    func boundedDeliveries() async throws {
        let silent = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(silent) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(silent, $0, length) == 0 && getsockname(silent, $0, &length) == 0 }
        }
        #expect(bound && listen(silent, 64) == 0)  // never accepted: a connect succeeds, no answer ever comes
        let port = Int(UInt16(bigEndian: address.sin_port))
        try await TestService(configure: {
            $0.tasks.allowedCallbackHosts = ["127.0.0.1:\(port)"]
            $0.tasks.maxPendingCallbacks = 2
            $0.tasks.callbackAttempts = 1
        }).live { client in
            var ids: [String] = []
            for _ in 0..<5 {
                ids.append(try await client.submitTask(["steps": [["tool": "shell", "command": "true"]],
                                                         "callback_url": "http://127.0.0.1:\(port)/hook"]))
            }
            var callbacks: [[String: Any]] = []
            for _ in 0..<200 {
                callbacks = []
                for id in ids { callbacks.append((try await client.get("/v1/tasks/\(id)").2["callback"] as? [String: Any]) ?? [:]) }
                if callbacks.filter({ $0["status"] as? String == "failed" }).count == 3 { break }
                try await Task.sleep(nanoseconds: 50_000_000)
            }
            let failed = callbacks.filter { $0["status"] as? String == "failed" }
            let pending = callbacks.filter { $0["status"] as? String == "pending" }
            #expect(failed.count == 3 && pending.count == 2, "\(callbacks)")
            #expect(failed.allSatisfy { $0["attempts"] as? Int == 0 && ($0["last_error"] as? String ?? "").contains("already being delivered") },
                    "\(failed)")
        }
    }

    @Test("a callback to a host the server does not allow is refused at submit (no request is ever made)")
    func refused() async throws {
        let receiver = try CallbackReceiver(statuses: [200])
        defer { receiver.stop() }
        try await TestService(configure: { $0.tasks.allowedCallbackHosts = ["hooks.example"] }).live { client in
            for url in ["http://127.0.0.1:\(receiver.port)/", "http://169.254.169.254/latest/meta-data", "https://hooks.example/",
                        "http://user@hooks.example/", "file:///etc/passwd", "http://hooks.example.evil.test/"] {
                let (status, _, reply) = try await client.post("/v1/tasks", json: ["steps": [["tool": "shell", "command": "true"]], "callback_url": url])
                #expect(status == .badRequest, "\(url): \(status) \(reply)")
            }
            try await Task.sleep(nanoseconds: 200_000_000)
            #expect(receiver.bodies.isEmpty)
        }
    }
}
