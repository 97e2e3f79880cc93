import Foundation

/// A few threads of our own that run blocking calls (GRDB's synchronous API) for async callers.
///
/// GRDB's async API hops through actors whose executors are dispatch queues; on Linux, under load,
/// an awaited read was seen never to resume (a request waited forever with no thread busy, and a
/// live server's graceful shutdown waited for it in turn). Its synchronous API takes plain locks
/// and dispatch `sync` calls: run on these threads, a database call can block, but it cannot be
/// lost, and it never holds a thread of the cooperative pool (two on a 2-core host) that every
/// request needs.
final class BlockingWorkers: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []

    init(threads: Int, name: String) {
        for index in 0..<max(1, threads) {
            let thread = Thread { [self] in loop() }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
    }

    /// Runs `body` on one of the threads and returns what it returns (or throws what it throws).
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            submit { continuation.resume(with: Result { try body() }) }
        }
    }

    private func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}
