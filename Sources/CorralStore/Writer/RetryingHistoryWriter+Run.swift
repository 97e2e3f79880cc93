extension RetryingHistoryWriter {
    /// The writer's service loop: starts each `record` call's write, bounds
    /// its caller's wait, and retries failed records with backoff. Returns
    /// when its task is cancelled; writes still in progress are cancelled and
    /// their records stay pending for `flush()`. Call it once.
    public func run() async {
        let started = state.withLock { s in
            guard case .idle = s.loop else { return false }
            s.loop = .running
            return true
        }
        precondition(started, "RetryingHistoryWriter.run() must be called once")
        // Records queued by inline writes before `run()` started.
        retrySignal.yield()
        await withDiscardingTaskGroup { group in
            group.addTask { await self.retryLoop() }
            // Ends when the task is cancelled.
            for await _ in submissions {
                for job in state.withLock({ $0.takeSubmitted() }) {
                    group.addTask { await self.attempt(job) }
                }
            }
            stop()
            group.cancelAll()
        }
    }

    /// Tries every pending record once more (at shutdown, after `run()` has
    /// returned), for at most `configuration.flushTimeout`. Returns how many
    /// records are still not stored (and logs them: count and first ids).
    @discardableResult
    public func flush() async -> Int {
        let records = state.withLock { $0.takeQueued(Int.max) }
        let deadline = ContinuousClock.now + configuration.flushTimeout
        for (index, record) in records.enumerated() {
            guard ContinuousClock.now < deadline else {
                state.withLock { s in
                    for unattempted in records[index...] {
                        _ = s.settle(unattempted, .failure(CancellationError()), capacity: .max, wasInFlight: true)
                    }
                }
                break
            }
            let outcome = await writeBounded(record, until: deadline)
            let settled = state.withLock { $0.settle(record, outcome, capacity: .max, wasInFlight: true) }
            if case .success = outcome, settled.recovered { logger.info("history store accepts writes again") }
        }
        let (left, firstIds) = state.withLock { s in (s.queue.count + s.inFlight, s.queue.prefix(10).map(\.executionId)) }
        if left > 0 {
            logger.error("history records not stored at shutdown",
                         metadata: ["count": "\(left)", "first_execution_ids": "\(firstIds.joined(separator: ","))"])
        }
        return left
    }

    /// Stops accepting submissions; callers whose write had not started get
    /// their record queued and are released.
    private func stop() {
        let (callers, records) = state.withLock { s in
            s.loop = .stopped
            let jobs = s.takeSubmitted()
            let callers = jobs.compactMap { s.release($0.id, timedOut: false) }
            for job in jobs { _ = s.enqueue(job.record, capacity: configuration.capacity) }
            return (callers, jobs.map(\.record))
        }
        for caller in callers { caller.resume(returning: true) }
        if !records.isEmpty {
            logger.warning("history writer stopped with unstarted writes; they are pending for flush",
                           metadata: ["count": "\(records.count)"])
        }
    }

    /// One submitted write, racing the caller's timeout.
    private func attempt(_ job: WriterState.Job) async {
        let timeout = configuration.inlineTimeout
        let outcome = await withTaskGroup(of: Void.self) { timer in
            timer.addTask {
                guard (try? await Task.sleep(for: timeout)) != nil else { return }
                self.state.withLock { $0.release(job.id, timedOut: true) }?.resume(returning: true)
            }
            let outcome = await write(job.record)
            timer.cancelAll()
            return outcome
        }
        let (caller, settled) = state.withLock { s in
            let caller = s.release(job.id, timedOut: false)
            return (caller, s.settle(job.record, outcome, capacity: configuration.capacity, wasInFlight: caller == nil))
        }
        caller?.resume(returning: true)
        report(job.record, outcome, settled)
    }

    /// Retries queued records oldest first; after a failure, waits with
    /// exponential backoff. Returns when cancelled.
    private func retryLoop() async {
        var backoff = configuration.initialBackoff
        for await _ in retries {
            while let record = state.withLock({ $0.takeQueued(1).first }) {
                let outcome = await write(record)
                // A failing record goes to the back, so that one bad record cannot stall the others.
                let settled = state.withLock { $0.settle(record, outcome, capacity: configuration.capacity, wasInFlight: true) }
                report(record, outcome, settled)
                if case .success = outcome {
                    backoff = configuration.initialBackoff
                } else {
                    do { try await Task.sleep(for: backoff) } catch { return }
                    backoff = min(backoff * 2, configuration.maxBackoff)
                }
            }
        }
    }

    /// `write`, cancelled at `deadline` (best effort: the store must honour cancellation).
    private func writeBounded(_ record: ExecutionRecord, until deadline: ContinuousClock.Instant) async -> Result<Void, any Error> {
        await withTaskGroup(of: Result<Void, any Error>?.self) { group in
            group.addTask { await self.write(record) }
            group.addTask {
                try? await Task.sleep(until: deadline)
                return nil
            }
            let first = await group.next()!
            group.cancelAll()
            if let first { return first }
            return await group.next()!!
        }
    }
}
