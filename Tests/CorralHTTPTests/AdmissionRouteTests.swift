import CorralEngine
import CorralHTTP
import CorralTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite(.enabled(if: TestSupport.jailsAvailable))
struct AdmissionRouteTests {
    static let sleeper: [String: String] = ["code": "import time\ntime.sleep(1.5)\nprint('slept')", "language": "python"]

    /// A POST on its own connection (the test client shares one connection, which would serialise requests).
    static func post(_ client: LiveClient, _ body: [String: String]) async throws -> (Int, [String: Any], String?) {
        let url = URL(string: "http://127.0.0.1:\(client.port!)/v1/execute")!
        let (status, data, retryAfter) = try await HTTPPost.raw(url, body)
        return (status, (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:], retryAfter)
    }

    @Test("a full queue is refused at once with 429 and Retry-After")
    func fullQueue() async throws {
        try await TestService(workers: 1, queue: 1).live { client in
            async let blocker = Self.post(client, Self.sleeper)
            try await Task.sleep(for: .milliseconds(300))
            async let queued = Self.post(client, Self.sleeper.merging(["code": Self.sleeper["code"]! + "\n# 2"]) { $1 })
            try await Task.sleep(for: .milliseconds(300))
            let started = Date()
            let (status, body, retryAfter) = try await Self.post(client, ["code": "print(1)", "language": "python"])
            #expect(status == 429)
            #expect(errorCode(body) == "queue_full")
            #expect(Int(retryAfter ?? "") ?? 0 >= 1)
            #expect(Date().timeIntervalSince(started) < 0.5, "refused at once, not after waiting")
            let (s1, b1, _) = try await blocker
            let (s2, b2, _) = try await queued
            #expect(s1 == 200 && b1["stdout"] as? String == "slept\n")
            #expect(s2 == 200 && b2["stdout"] as? String == "slept\n")
            let (_, _, _, metrics) = try await client.get("/metrics")
            #expect(metrics.contains("corral_admission_rejected_total 1"))
        }
    }

    @Test("a saturated queue admits by priority: CRITICAL, HIGH, MEDIUM, LOW")
    func priorityOrdering() async throws {
        let finished = OrderBox()
        try await TestService(workers: 1, queue: 16).live { client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { _ = try await Self.post(client, Self.sleeper.merging(["code": Self.sleeper["code"]! + "\n# p"]) { $1 }) }
                try await Task.sleep(for: .milliseconds(400))
                for priority in ["LOW", "MEDIUM", "HIGH", "CRITICAL"] {
                    group.addTask {
                        // Each run says when it ran (CLOCK_MONOTONIC is the host's): the order of the runs
                        // is the admission order; the order of the answers can differ by a response's delivery.
                        let (status, body, _) = try await Self.post(client, [
                            "code": "import time\nprint('\(priority)', time.monotonic_ns())", "language": "python", "priority": priority])
                        #expect(status == 200)
                        finished.append((body["stdout"] as? String ?? "?").trimmingCharacters(in: .newlines))
                    }
                    try await Task.sleep(for: .milliseconds(150))
                }
                try await group.waitForAll()
            }
        }
        func ranAt(_ line: String) -> Int { Int(line.split(separator: " ").last ?? "") ?? Int.max }
        let ran: [String] = finished.items.sorted { ranAt($0) < ranAt($1) }.map { String($0.split(separator: " ").first ?? "?") }
        #expect(ran == ["CRITICAL", "HIGH", "MEDIUM", "LOW"], "\(finished.items)")
    }
}

final class OrderBox: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [String] = []
    func append(_ s: String) { lock.lock(); storage.append(s); lock.unlock() }
    var items: [String] { lock.lock(); defer { lock.unlock() }; return storage }
}
