import Synchronization

/// A value that arrives once (the server's INFO, a PONG), awaited with a deadline. Completing it
/// again is ignored, so a timer and the event that beat it may both try.
final class Once<Value: Sendable>: Sendable {
    private struct State {
        var waiter: CheckedContinuation<Result<Value, NATSError>, Never>?
        var result: Result<Value, NATSError>?
    }
    private let state = Mutex(State())

    func complete(_ result: Result<Value, NATSError>) {
        let waiter = state.withLock { s -> CheckedContinuation<Result<Value, NATSError>, Never>? in
            guard s.result == nil else { return nil }
            s.result = result
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(returning: result)
    }

    /// The value, or `timeout` (an error saying what was awaited) after `seconds`.
    func value(within seconds: Double, timeout: NATSError) async throws(NATSError) -> Value {
        let timer = Task { [self] in
            try? await Task.sleep(nanoseconds: UInt64(max(0.001, seconds) * 1e9))
            complete(.failure(timeout))
        }
        defer { timer.cancel() }
        let result = await withCheckedContinuation { (c: CheckedContinuation<Result<Value, NATSError>, Never>) in
            let ready = state.withLock { s -> Result<Value, NATSError>? in
                if let r = s.result { return r }
                s.waiter = c
                return nil
            }
            if let ready { c.resume(returning: ready) }
        }
        return try result.get()
    }
}
