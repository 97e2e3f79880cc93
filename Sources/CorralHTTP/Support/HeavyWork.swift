import CorralEngine
import Foundation

/// How many blocking, memory-heavy session operations run at once. Each runs on a thread of its
/// own (`OwnThread`), not on the cooperative pool, and may hold hundreds of MB while it runs: a
/// shadow session's changes (up to 64 MiB of paths), a diff (256 MiB read, 64 MiB of text), an
/// apply, a tree of a million entries removed, an archive (512 MiB, three times over, until its
/// client has read it). Without a bound, N callers at once held N times that.
final class HeavyWork: @unchecked Sendable {
    /// Changes, diffs, applies and removals: more than this wait their turn, holding no thread.
    static let sessions = HeavyWork(limit: 4)
    /// Archives being made or sent: past this, 429 (each holds its zip until its client read it).
    static let archives = HeavyWork(limit: 2)

    let limit: Int
    private let lock = NSLock()
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { self.limit = limit }

    /// Runs `body` on a thread of its own once fewer than `limit` such bodies run.
    func run<T: Sendable>(_ name: String, _ body: @escaping @Sendable () throws(EngineError) -> T) async throws(EngineError) -> T {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.lock()
            if running < limit {
                running += 1
                lock.unlock()
                continuation.resume()
            } else {
                waiting.append(continuation)
                lock.unlock()
            }
        }
        defer { release() }
        return try await OwnThread.run(name, body)
    }

    /// A place, if one is free now; it is given back when the slot is released (its last reference gone).
    func take() -> Slot? {
        lock.lock()
        defer { lock.unlock() }
        guard running < limit else { return nil }
        running += 1
        return Slot(self)
    }

    private func release() {
        lock.lock()
        if waiting.isEmpty {
            running -= 1
            lock.unlock()
        } else {
            let next = waiting.removeFirst()
            lock.unlock()
            next.resume()  // its place passes on
        }
    }

    /// One place taken with `take()`.
    final class Slot: Sendable {
        private let owner: HeavyWork
        fileprivate init(_ owner: HeavyWork) { self.owner = owner }
        deinit { owner.release() }
    }
}
