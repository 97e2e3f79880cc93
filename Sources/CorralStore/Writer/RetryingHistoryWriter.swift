import Logging
import Synchronization

/// Records executions for the engine so that a history failure never costs a
/// caller its result: `record` waits for the store at most
/// `configuration.inlineTimeout`, never throws, and a record the store did not
/// take is kept in a bounded queue and retried with backoff by `run()`.
///
/// Lifecycle: run `run()` as a long-lived service (it ends when its task is
/// cancelled); at shutdown, after `run()` has returned, call `flush()` to try
/// what is still pending once more.
///
/// While `run()` runs, each write executes in `run()`'s task group and the
/// caller only waits on its outcome, so the bound holds whatever the store
/// does. Outside `run()`, `record` writes in the caller's task and enforces
/// the bound by cancelling the write, which relies on the store honouring
/// cancellation (`SQLiteHistoryStore` does once its write has started).
public final class RetryingHistoryWriter: Sendable {
    /// Tuning of a `RetryingHistoryWriter`.
    public struct Configuration: Sendable {
        /// The longest `record` keeps its caller waiting for the store.
        public var inlineTimeout: Duration = .milliseconds(250)
        /// The most records kept for retry; past it the oldest are dropped (and counted).
        public var capacity: Int = 10_000
        /// The first wait after a failed retry; doubles after each failure.
        public var initialBackoff: Duration = .milliseconds(100)
        /// The longest wait between retries.
        public var maxBackoff: Duration = .seconds(30)
        /// The longest `flush()` spends retrying at shutdown.
        public var flushTimeout: Duration = .seconds(10)

        public init(inlineTimeout: Duration = .milliseconds(250), capacity: Int = 10_000,
                    initialBackoff: Duration = .milliseconds(100), maxBackoff: Duration = .seconds(30),
                    flushTimeout: Duration = .seconds(10)) {
            self.inlineTimeout = inlineTimeout; self.capacity = max(capacity, 1)
            self.initialBackoff = initialBackoff; self.maxBackoff = max(maxBackoff, initialBackoff)
            self.flushTimeout = flushTimeout
        }
    }

    /// Counters since the writer was created.
    public struct Statistics: Sendable, Equatable {
        /// Records the store accepted.
        public var written = 0
        /// Records not yet stored: queued for retry, being retried, or still
        /// being written after their caller was released by the timeout.
        public var pending = 0
        /// Store calls that failed (each retry counts).
        public var writeFailures = 0
        /// `record` calls that returned on the timeout before the store answered.
        public var timeouts = 0
        /// Records lost because the retry queue was full.
        public var dropped = 0

        public init(written: Int = 0, pending: Int = 0, writeFailures: Int = 0, timeouts: Int = 0, dropped: Int = 0) {
            self.written = written; self.pending = pending; self.writeFailures = writeFailures
            self.timeouts = timeouts; self.dropped = dropped
        }
    }

    public let store: any HistoryStore
    public let configuration: Configuration
    let logger: Logger
    let state = Mutex(WriterState())
    /// Wakes `run()` to start submitted writes.
    let submissions: AsyncStream<Void>
    let submissionSignal: AsyncStream<Void>.Continuation
    /// Wakes the retry loop when a record is queued.
    let retries: AsyncStream<Void>
    let retrySignal: AsyncStream<Void>.Continuation

    public init(store: any HistoryStore, configuration: Configuration = Configuration(),
                logger: Logger = Logger(label: "corral.history")) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
        (submissions, submissionSignal) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        (retries, retrySignal) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Records `record`, waiting at most `configuration.inlineTimeout`. Never
    /// throws: a record the store did not take in time is kept and retried.
    public func record(_ record: ExecutionRecord) async {
        let submitted = await withCheckedContinuation { (caller: CheckedContinuation<Bool, Never>) in
            let accepted = state.withLock { $0.submit(record, caller: caller) }
            if accepted { submissionSignal.yield() } else { caller.resume(returning: false) }
        }
        if !submitted { await recordInline(record) }
    }

    /// Whether `run()` is running (and so `record`'s bound holds whatever the store does).
    public var isRunning: Bool {
        state.withLock { if case .running = $0.loop { true } else { false } }
    }

    /// Counters, for metrics.
    public var statistics: Statistics { state.withLock { $0.statistics } }
    /// Records not yet stored.
    public var pending: Int { statistics.pending }
    /// Store calls that failed.
    public var writeFailures: Int { statistics.writeFailures }

    /// The write of `record` in the caller's task, when `run()` is not running.
    private func recordInline(_ record: ExecutionRecord) async {
        let timeout = configuration.inlineTimeout
        let (outcome, timedOut) = await withTaskGroup(of: Result<Void, any Error>?.self) { group in
            group.addTask { await self.write(record) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next()!
            group.cancelAll()
            if let first { return (first, false) }
            return (await group.next()!!, true)
        }
        let settled = state.withLock { s in
            if timedOut { s.counters.timeouts += 1 }
            return s.settle(record, outcome, capacity: configuration.capacity)
        }
        report(record, outcome, settled)
    }

    /// One store call, as a value.
    func write(_ record: ExecutionRecord) async -> Result<Void, any Error> {
        do {
            try await store.record(record)
            return .success(())
        } catch {
            return .failure(error)
        }
    }

    /// Logs transitions (failing, recovered) rather than every failure, so
    /// that an outage does not flood the log, and wakes the retry loop for a
    /// queued record.
    func report(_ record: ExecutionRecord, _ outcome: Result<Void, any Error>, _ settled: WriterState.Settled) {
        let metadata: () -> Logger.Metadata = {
            let s = self.statistics
            return ["execution_id": "\(record.executionId)", "pending": "\(s.pending)", "write_failures": "\(s.writeFailures)"]
        }
        // The first drop, then every thousandth: each one is counted in `statistics.dropped`.
        if let dropped = settled.dropped, statistics.dropped % 1000 == 1 {
            logger.error("history retry queue full: dropping the oldest pending records",
                         metadata: metadata().merging(["dropped_execution_id": "\(dropped.executionId)",
                                                       "dropped": "\(statistics.dropped)"]) { $1 })
        }
        switch outcome {
        case .success:
            if settled.recovered { logger.info("history store accepts writes again", metadata: metadata()) }
        case .failure(let error):
            var details = metadata()
            details["error"] = "\(error)"
            if settled.startedFailing {
                logger.warning("history writes are failing; records are kept and retried", metadata: details)
            } else {
                logger.debug("history write failed", metadata: details)
            }
            retrySignal.yield()
        }
    }
}
