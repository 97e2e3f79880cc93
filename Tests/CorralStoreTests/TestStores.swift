import CorralStore
import Foundation
import Synchronization

/// A store whose writes fail (with the error a full disk gives) until `heal`
/// or until its failure budget is spent; then it stores in memory. The thing
/// under test is the writer around it, not this store.
actor FlakyStore: HistoryStore {
    let inner = InMemoryHistoryStore()
    private var failuresLeft: Int
    private(set) var attempts = 0

    init(failures: Int) { failuresLeft = failures }

    func heal() { failuresLeft = 0 }

    func record(_ record: ExecutionRecord) async throws {
        attempts += 1
        if failuresLeft > 0 {
            failuresLeft -= 1
            throw HistoryStoreError(code: .diskFull, operation: "record", path: "/flaky", reason: "SQLite error 13: database or disk is full")
        }
        try await inner.record(record)
    }

    func query(_ query: HistoryQuery) async throws -> HistoryPage { try await inner.query(query) }
    func execution(id: String) async throws -> ExecutionRecord? { try await inner.execution(id: id) }
    func prune(_ policy: RetentionPolicy) async throws -> Int { try await inner.prune(policy) }
    func summary() async throws -> HistorySummary { try await inner.summary() }
}

/// A store whose writes hang, ignoring cancellation, until `release` (the
/// worst a remote database can do); then it stores in memory.
final class StuckStore: HistoryStore {
    let inner = InMemoryHistoryStore()
    private let gate = Mutex<(released: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func release() {
        let waiters = gate.withLock { g in
            g.released = true
            defer { g.waiters = [] }
            return g.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func record(_ record: ExecutionRecord) async throws {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let open = gate.withLock { g in
                if !g.released { g.waiters.append(waiter) }
                return g.released
            }
            if open { waiter.resume() }
        }
        try await inner.record(record)
    }

    func query(_ query: HistoryQuery) async throws -> HistoryPage { try await inner.query(query) }
    func execution(id: String) async throws -> ExecutionRecord? { try await inner.execution(id: id) }
    func prune(_ policy: RetentionPolicy) async throws -> Int { try await inner.prune(policy) }
    func summary() async throws -> HistorySummary { try await inner.summary() }
}

/// Waits until `condition` holds, for at most `timeout`; returns whether it did.
func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return try await condition()
}

/// Runs `body` while `writer.run()` runs, then cancels the run and waits for it to end.
func withRunningWriter<T: Sendable>(_ writer: RetryingHistoryWriter, _ body: () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await writer.run() }
        defer { group.cancelAll() }
        // Until run() has started, record would write inline instead.
        guard await eventually({ writer.isRunning }) else { throw CancellationError() }
        return try await body()
    }
}
