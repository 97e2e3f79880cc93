/// The mutable state of a `RetryingHistoryWriter`, always used under its mutex.
struct WriterState: Sendable {
    enum Loop: Sendable { case idle, running, stopped }

    /// A `record` call handed to `run()`.
    struct Job: Sendable {
        var id: Int
        var record: ExecutionRecord
    }

    /// What `settle` did, for the log.
    struct Settled {
        /// The oldest pending record, dropped to make room.
        var dropped: ExecutionRecord?
        /// This failure is the first since the last success.
        var startedFailing = false
        /// This success is the first since the store failed.
        var recovered = false
    }

    var loop = Loop.idle
    /// Submitted, not yet started by `run()`.
    var submitted: [Job] = []
    /// Callers waiting on their write, by job id.
    var waiting: [Int: CheckedContinuation<Bool, Never>] = [:]
    /// Records to retry, oldest first.
    var queue: [ExecutionRecord] = []
    /// Writes whose caller was released by the timeout, plus records taken
    /// from the queue for a retry: pending, but not in `queue`.
    var inFlight = 0
    var nextJob = 0
    /// Whether the last write failed (to log transitions, not every failure).
    var failing = false
    /// Counters; `pending` is derived from `queue` and `inFlight`.
    var counters = RetryingHistoryWriter.Statistics()

    var statistics: RetryingHistoryWriter.Statistics {
        var s = counters
        s.pending = queue.count + inFlight
        return s
    }

    /// Hands `record` to `run()` if it is running.
    mutating func submit(_ record: ExecutionRecord, caller: CheckedContinuation<Bool, Never>) -> Bool {
        guard case .running = loop else { return false }
        submitted.append(Job(id: nextJob, record: record))
        waiting[nextJob] = caller
        nextJob += 1
        return true
    }

    mutating func takeSubmitted() -> [Job] {
        defer { submitted = [] }
        return submitted
    }

    /// The caller of job `id`, if it is still waiting; a write that outlives
    /// its caller stays counted as pending until it settles.
    mutating func release(_ id: Int, timedOut: Bool) -> CheckedContinuation<Bool, Never>? {
        guard let caller = waiting.removeValue(forKey: id) else { return nil }
        if timedOut { inFlight += 1; counters.timeouts += 1 }
        return caller
    }

    /// Counts the outcome of a write and queues the record if it failed;
    /// `wasInFlight` when the record was counted in `inFlight` until now.
    mutating func settle(_ record: ExecutionRecord, _ outcome: Result<Void, any Error>, capacity: Int,
                         wasInFlight: Bool = false) -> Settled {
        if wasInFlight { inFlight -= 1 }
        switch outcome {
        case .success:
            counters.written += 1
            defer { failing = false }
            return Settled(recovered: failing)
        case .failure(let error):
            var settled = enqueue(record, capacity: capacity)
            // A write cut short by shutdown is not the store's failure.
            guard !(error is CancellationError) else { return settled }
            counters.writeFailures += 1
            settled.startedFailing = !failing
            failing = true
            return settled
        }
    }

    mutating func enqueue(_ record: ExecutionRecord, capacity: Int) -> Settled {
        var queued = Settled()
        if queue.count >= capacity {
            queued.dropped = queue.removeFirst()
            counters.dropped += 1
        }
        queue.append(record)
        return queued
    }

    /// Takes up to `count` records from the queue for a retry (they stay pending).
    mutating func takeQueued(_ count: Int) -> [ExecutionRecord] {
        let taken = Array(queue.prefix(count))
        queue.removeFirst(taken.count)
        inFlight += taken.count
        return taken
    }
}
