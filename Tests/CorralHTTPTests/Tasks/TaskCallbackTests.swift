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
