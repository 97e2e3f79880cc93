@testable import CorralPostgres
import CorralStore
import Foundation
import Testing

/// The PostgreSQL store's deadline bounds every call, even one whose body ignores cancellation
/// (a query stuck on a lost connection once kept a history write pending forever).
@Suite("PostgreSQL deadline")
struct PostgresDeadlineTests {
    static let timeout = HistoryStoreError(code: .unavailable, operation: "test", reason: "did not answer")

    @Test("a body that ignores cancellation still ends at the deadline, with the timeout error")
    func deadlineHoldsOverAnUncancellableBody() async throws {
        let started = Date()
        do {
            _ = try await PostgresHistoryStore.racing({ () async throws -> Int in
                // Ignores cancellation: resumes only after 3 s, whatever happens.
                await withUnsafeContinuation { (c: UnsafeContinuation<Void, Never>) in
                    DispatchQueue.global().asyncAfter(deadline: .now() + 3) { c.resume() }
                }
                return 1
            }, deadline: 0.3, timeout: Self.timeout)
            Issue.record("the body's result came before the deadline")
        } catch let error as HistoryStoreError {
            #expect(error.reason == "did not answer")
        }
        let took = Date().timeIntervalSince(started)
        #expect(took < 1.5, "ended at the deadline (0.3 s), not with the body (3 s): \(took) s")
    }

    @Test("a body that answers in time gives its result; its error is passed on")
    func answersInTime() async throws {
        let value = try await PostgresHistoryStore.racing({ 42 }, deadline: 5, timeout: Self.timeout)
        #expect(value == 42)
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            _ = try await PostgresHistoryStore.racing({ () async throws -> Int in throw Boom() }, deadline: 5, timeout: Self.timeout)
        }
    }

    @Test("a cancelled caller returns at once")
    func cancelledCaller() async throws {
        let started = Date()
        let task = Task {
            try await PostgresHistoryStore.racing({ () async throws -> Int in
                try await Task.sleep(nanoseconds: 10_000_000_000)
                return 1
            }, deadline: 30, timeout: Self.timeout)
        }
        try await Task.sleep(nanoseconds: 100_000_000)
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
        #expect(Date().timeIntervalSince(started) < 2)
    }
}
