import Foundation
import Glibc
import Synchronization

/// A few `ServiceJail` workers running one program, shared by many tasks: a request takes an
/// idle worker (or starts one, up to `maximumWorkers`, or waits for one), exchanges one frame
/// pair under its deadline, and gives the worker back. A worker that failed, or that has served
/// `requestsPerWorker` requests, is destroyed and replaced. `shutdown()` (or the pool's end)
/// kills every worker.
public final class ServicePool: Sendable {
    /// What the pool runs and how far it goes. Defaults suit an analyzer answering small requests.
    public struct Configuration: Sendable {
        /// The program every worker runs (its `stdin` must be empty; no network, no output directory).
        public var spec: JailSpec
        /// Workers alive at once, at most; more requests wait for one.
        public var maximumWorkers = 2
        /// Requests one worker answers before it is replaced (bounds what a long-lived program accumulates).
        public var requestsPerWorker = 1000
        /// Largest reply read, in bytes; a worker announcing more is killed.
        public var maxReplyBytes = 16 << 20
        /// Largest request sent, in bytes; a larger one fails without reaching a worker.
        public var maxRequestBytes = 16 << 20

        public init(spec: JailSpec) { self.spec = spec }
    }

    /// A reply and the worker that gave it.
    public struct Reply<Value: Sendable>: Sendable {
        public var value: Value
        /// Host pid of the worker's jail init (the same for requests served by the same worker).
        public var workerPID: Int32
        /// Requests that worker had answered before this one.
        public var servedBefore: Int
    }

    public let configuration: Configuration
    let sandbox: Sandbox
    let state = Mutex(State())

    struct State {
        var idle: [ServiceJail] = []
        /// Every worker alive or starting, busy or idle (shutdown kills them all).
        var live: [Int32: ServiceJail] = [:]
        var starting = 0
        var waiters: [CheckedContinuation<Lease, Never>] = []
        var closed = false
        var started = 0
    }

    /// What `lease()` gives a request: a worker, the right to start one, or nothing (shut down).
    enum Lease: Sendable {
        case worker(ServiceJail)
        case start
        case closed
    }

    init(sandbox: Sandbox, configuration: Configuration) {
        self.sandbox = sandbox
        self.configuration = configuration
    }

    deinit { shutdown() }

    /// Workers started since the pool was made (for tests and metrics).
    public var workersStarted: Int { state.withLock { $0.started } }

    /// Host pids of the workers alive now (their jails' inits), lowest first.
    public var workerPIDs: [Int32] { state.withLock { $0.live.keys.sorted() } }

    /// Sends `payload` to a worker and decodes its reply with `decode`, within `timeoutSeconds` of
    /// getting the worker (a fresh worker's program start counts, its jail's setup does not). Never throws: a failure says
    /// what happened, and the worker concerned is gone. A reply `decode` rejects is a
    /// `malformedReply`, and that worker is replaced too.
    public func request<Value: Sendable>(_ payload: [UInt8], timeoutSeconds: Double,
                                         decode: @escaping @Sendable ([UInt8]) throws -> Value) async -> Result<Reply<Value>, ServiceFailure> {
        guard payload.count <= configuration.maxRequestBytes else {
            return .failure(ServiceFailure(.oversizedRequest, "the request is \(payload.count) bytes; at most \(configuration.maxRequestBytes) are sent"))
        }
        let worker: ServiceJail
        switch await lease() {
        case .closed:
            return .failure(ServiceFailure(.unavailable, "the worker pool is shut down"))
        case .worker(let w):
            worker = w
        case .start:
            switch await startWorker() {
            case .success(let w): worker = w
            case .failure(let failure): return .failure(failure)
            }
        }
        let servedBefore = worker.served
        // From the moment the worker is ours (a fresh one's program has just been handed its spec):
        // as in a one-shot run, the jail's setup is not the program's time, its interpreter start is.
        let started = Posix.monotonicNanoseconds()
        let budget = timeoutSeconds.isFinite && timeoutSeconds > 0 ? min(timeoutSeconds, 86_400) : 1
        let deadline = started + UInt64(budget * 1e9)
        let outcome: Result<Reply<Value>, ServiceFailure> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let thread = Thread {
                    let exchanged = worker.exchange(payload, deadline: deadline)
                    switch exchanged {
                    case .failure(let failure):
                        continuation.resume(returning: .failure(failure))
                    case .success(let bytes):
                        do {
                            let value = try decode(bytes)
                            continuation.resume(returning: .success(Reply(value: value, workerPID: worker.pid, servedBefore: servedBefore)))
                        } catch {
                            worker.kill()
                            continuation.resume(returning: .failure(ServiceFailure(.malformedReply, "the worker's reply is unreadable: \(error)")))
                        }
                    }
                }
                thread.name = "corral-service-\(worker.pid)"
                thread.start()
            }
        } onCancel: {
            worker.kill()
        }
        var result = outcome
        if case .failure(var failure) = outcome {
            failure.servedBefore = servedBefore
            if Task.isCancelled, failure.code != .malformedReply {
                failure.code = .cancelled
                failure.message = "cancelled: the caller went away; the worker was killed"
            }
            result = .failure(failure)
        }
        let healthy = if case .success = result { true } else { false }
        giveBack(worker, healthy: healthy)
        return result
    }

    /// Kills every worker (idle or busy) and fails the requests waiting for one. Idempotent.
    public func shutdown() {
        let (idle, busy, waiters) = state.withLock { s -> ([ServiceJail], [ServiceJail], [CheckedContinuation<Lease, Never>]) in
            s.closed = true
            let idle = s.idle
            for worker in idle { s.live[worker.pid] = nil }
            defer { s.idle.removeAll(); s.waiters.removeAll() }
            return (idle, Array(s.live.values), s.waiters)
        }
        waiters.forEach { $0.resume(returning: .closed) }
        // Busy workers are only killed: their request sees the end and gives them back to be destroyed.
        busy.forEach { $0.kill() }
        idle.forEach { $0.destroy() }
    }
}
