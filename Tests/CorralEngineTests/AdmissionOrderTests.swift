@testable import CorralEngine
import CorralTestSupport
import Foundation
import Synchronization
import Testing

/// The admission queue hands free jails out by priority, first come first served within one,
/// and refuses at once when full.
@Suite("Admission order")
struct AdmissionOrderTests {
    /// Waits (briefly) until `queue` holds `count` waiters.
    static func waitUntilQueued(_ queue: AdmissionQueue, _ count: Int) async throws {
        for _ in 0..<500 where queue.snapshot.queued < count { try await Task.sleep(for: .milliseconds(2)) }
        #expect(queue.snapshot.queued == count)
    }

    @Test func waitersStartByPriorityThenArrival() async throws {
        let queue = AdmissionQueue(workers: 1, capacity: 16)
        try await queue.acquire(.low) // the one worker is busy
        let order = OrderLog()
        let arrivals: [(String, Priority)] = [("low", .low), ("medium-1", .medium), ("critical", .critical), ("high", .high), ("medium-2", .medium)]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, (name, priority)) in arrivals.enumerated() {
                group.addTask {
                    try await queue.acquire(priority)
                    order.append(name)
                    queue.release()
                }
                try await Self.waitUntilQueued(queue, index + 1)
            }
            queue.release()
            try await group.waitForAll()
        }
        #expect(order.names == ["critical", "high", "medium-1", "medium-2", "low"])
        #expect(queue.snapshot.running == 0)
    }

    @Test func aFullQueueRefusesAtOnce() async throws {
        let queue = AdmissionQueue(workers: 1, capacity: 1)
        try await queue.acquire(.medium)
        let waiter = Task { try await queue.acquire(.medium) }
        try await Self.waitUntilQueued(queue, 1)
        let started = ContinuousClock.now
        let error = await engineErrorAsync { try await queue.acquire(.critical, retryAfterSeconds: 7) }
        #expect(ContinuousClock.now - started < .milliseconds(100))
        #expect(error?.code == .queueFull && error?.code.httpStatus == 429)
        #expect(error?.retryAfterSeconds == 7)
        queue.release()
        try await waiter.value
        queue.release()
    }

    /// A waiter cancelled just as a slot is released to it: the queue keeps nothing of it (before,
    /// such a cancel left its id in a set for the life of the process).
    @Test func aCancelAfterTheReleaseLeavesNothingBehind() async throws {
        let queue = AdmissionQueue(workers: 1, capacity: 16)
        try await queue.acquire(.medium)
        for _ in 0..<50 {
            let waiter = Task { try await queue.acquire(.medium) }
            try await Self.waitUntilQueued(queue, 1)
            queue.release()  // the slot goes to the waiter…
            waiter.cancel()  // …which is cancelled before it runs on
            _ = try? await waiter.value
        }
        #expect(queue.cancelBookkeeping == 0, "\(queue.cancelBookkeeping) ids kept")
        #expect(queue.snapshot.running == 1 && queue.snapshot.queued == 0)
    }

    /// Through the engine: with one worker busy, a HIGH request queued after a LOW one runs first,
    /// and its wait shows in `queue_time_ms`, not in its `execution_time_ms`.
    @Test(.enabled(if: TestSupport.jailsAvailable))
    func theEngineAdmitsByPriority() async throws {
        let engine = try EngineFixtures.engine(EngineFixtures.configuration(workers: 1))
        let blocker = Task { try await engine.execute(.make("bash", "sleep 0.4")) }
        for _ in 0..<500 where engine.admission.snapshot.running == 0 { try await Task.sleep(for: .milliseconds(2)) }
        let low = Task { try await engine.execute(.make("bash", "sleep 0.2") { $0.priority = .low }) }
        try await Self.waitUntilQueued(engine.admission, 1)
        let high = Task { try await engine.execute(.make("bash", "sleep 0.2") { $0.priority = .high }) }
        try await Self.waitUntilQueued(engine.admission, 2)
        let (l, h) = (try await low.value, try await high.value)
        _ = try await blocker.value
        let lowWait = try #require(l.queueTimeMs), highWait = try #require(h.queueTimeMs)
        #expect(highWait < lowWait, "high waited \(highWait) ms, low \(lowWait) ms")
        #expect(lowWait - highWait >= 150, "low waited for high's run too: \(lowWait) vs \(highWait)")
        #expect(l.result.executionTimeMs < 260 && h.result.executionTimeMs < 260, "waits are not run time")
    }
}

/// Names in the order their tasks were admitted.
final class OrderLog: Sendable {
    private let log = Mutex<[String]>([])
    func append(_ name: String) { log.withLock { $0.append(name) } }
    var names: [String] { log.withLock { $0 } }
}
