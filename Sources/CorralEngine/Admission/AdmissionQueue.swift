import Synchronization

/// A fixed number of concurrent jails behind a bounded, priority-ordered queue.
/// A request that finds the queue full is refused at once, never left to time out.
public final class AdmissionQueue: Sendable {
    private struct Waiter {
        var id: UInt64
        var priority: Priority
        var continuation: CheckedContinuation<Void, any Error>
    }
    private struct State {
        var running = 0
        var waiting: [Waiter] = [] // highest priority first, FIFO within a priority
        var nextID: UInt64 = 0
        /// Ids given out and not yet in `waiting`: a cancel that finds its id here comes before the
        /// wait; one that finds it nowhere came after its release (and has nothing to do).
        var notYetQueued: Set<UInt64> = []
        var cancelledBeforeQueued: Set<UInt64> = []
        var rejected = 0
        var closed = false
    }
    private let state = Mutex(State())
    public let workers: Int
    public let capacity: Int

    public init(workers: Int, capacity: Int) {
        self.workers = max(1, workers)
        self.capacity = max(0, capacity)
    }

    /// Waits for a slot. Throws `queueFull` at once when `capacity` requests already wait.
    public func acquire(_ priority: Priority, retryAfterSeconds: @autoclosure () -> Int = 1) async throws(EngineError) {
        let id: UInt64? = try state.withLock { s throws(EngineError) -> UInt64? in
            if s.closed { throw EngineError(.shuttingDown, "the service is shutting down; retry on another instance") }
            if s.running < workers && s.waiting.isEmpty { s.running += 1; return nil }
            guard s.waiting.count < capacity else {
                s.rejected += 1
                return UInt64.max
            }
            s.nextID += 1
            s.notYetQueued.insert(s.nextID)
            return s.nextID
        }
        guard let id else { return }
        if id == UInt64.max {
            throw EngineError(.queueFull, "all \(workers) workers are busy and \(capacity) requests are queued; retry later",
                              retryAfterSeconds: retryAfterSeconds())
        }
        do {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                    state.withLock { s in
                        s.notYetQueued.remove(id)
                        if s.cancelledBeforeQueued.remove(id) != nil { c.resume(throwing: CancellationError()); return }
                        let index = s.waiting.firstIndex { $0.priority < priority } ?? s.waiting.endIndex
                        s.waiting.insert(Waiter(id: id, priority: priority, continuation: c), at: index)
                    }
                }
            } onCancel: {
                let waiter = state.withLock { s -> Waiter? in
                    guard let i = s.waiting.firstIndex(where: { $0.id == id }) else {
                        // Released already: the set would keep its id forever.
                        if s.notYetQueued.contains(id) { s.cancelledBeforeQueued.insert(id) }
                        return nil
                    }
                    return s.waiting.remove(at: i)
                }
                waiter?.continuation.resume(throwing: CancellationError())
            }
        } catch {
            throw EngineError(.shuttingDown, "the request was cancelled while queued")
        }
    }

    /// Gives the slot to the next waiter, or frees it.
    public func release() {
        let next = state.withLock { s -> Waiter? in
            if s.waiting.isEmpty { s.running -= 1; return nil }
            return s.waiting.removeFirst()
        }
        next?.continuation.resume()
    }

    /// Refuses new requests and fails everything still queued.
    public func close() {
        let waiters = state.withLock { s -> [Waiter] in
            s.closed = true
            defer { s.waiting.removeAll() }
            return s.waiting
        }
        for w in waiters { w.continuation.resume(throwing: EngineError(.shuttingDown, "the service is shutting down")) }
    }

    /// Ids kept for cancels (zero once every request has come and gone: none may stay behind).
    var cancelBookkeeping: Int { state.withLock { $0.cancelledBeforeQueued.count + $0.notYetQueued.count } }

    public var snapshot: (running: Int, queued: Int, rejected: Int) {
        state.withLock { ($0.running, $0.waiting.count, $0.rejected) }
    }
}
