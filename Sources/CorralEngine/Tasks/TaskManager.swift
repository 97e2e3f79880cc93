import CorralStore
import Foundation
import Logging
import Synchronization

/// A task in this process: its state (saved to the store at every change), its events, and
/// what cancelling it must stop.
final class LiveTask: Sendable {
    let id: String
    let owner: String
    let request: TaskRequest
    let directory: TaskDirectory
    let events = TaskEventLog()
    let createdAtMs: Int64
    private let state: Mutex<TaskInfo>
    private let control = Mutex<(cancelled: Bool, session: Session?)>((false, nil))

    /// The request's size as JSON (what a queued task holds, counted against `maxQueuedBytes`).
    let requestBytes: Int

    init(id: String, owner: String, request: TaskRequest, directory: TaskDirectory, info: TaskInfo, createdAtMs: Int64) {
        self.id = id; self.owner = owner; self.request = request; self.directory = directory
        self.createdAtMs = createdAtMs
        requestBytes = TaskManager.requestBytes(request)
        state = Mutex(info)
    }

    /// When the task was last saved (`DispatchTime` nanoseconds).
    let lastSavedNs = Mutex<UInt64>(0)

    var info: TaskInfo { state.withLock { $0 } }
    /// Output the results of its steps hold (stdout and stderr, UTF-8 bytes).
    var outputBytes: Int {
        state.withLock { info in info.steps.reduce(0) { $0 + ($1.result.map { $0.result.stdout.utf8.count + $0.result.stderr.utf8.count } ?? 0) } }
    }
    func update<T>(_ change: (inout TaskInfo) -> T) -> T { state.withLock { change(&$0) } }

    var isCancelled: Bool { control.withLock { $0.cancelled } }
    var session: Session? { control.withLock { $0.session } }
    /// Marks the task cancelled and ends its session (a running step's processes die with it).
    func cancel() {
        let session = control.withLock { c -> Session? in c.cancelled = true; return c.session }
        // The teardown blocks for up to seconds: not on the canceller's (cooperative) thread.
        session?.jail.kill()
        if let session { Thread { session.destroy() }.start() }
    }
    /// The session steps run in; false when the task was cancelled meanwhile (the caller ends it).
    func attach(_ session: Session?) -> Bool {
        control.withLock { c in
            c.session = session
            return !c.cancelled
        }
    }

    /// The task as the store keeps it; throws when it cannot be encoded (never stored as anything else).
    func row() throws -> TaskRow {
        let info = self.info
        return TaskRow(taskID: id, owner: owner, status: info.status.rawValue, createdAtMs: createdAtMs,
                       document: try TaskManager.encoder.encode(info))
    }
}

/// Tasks: the queue (first in, first out), the live ones, the workers that run them
/// (`TaskSettings.maxRunning` at once), and the store that keeps them across restarts.
public final class TaskManager: Sendable {
    public let settings: TaskSettings
    let store: any TaskStore
    let logger: Logger
    /// The owner of task sessions in the session manager: no caller can name it.
    static let sessionOwner = "\u{0}task"

    struct State {
        var queue: [LiveTask] = []
        /// The encoded requests of the queued tasks, bytes (`TaskSettings.maxQueuedBytes` at most).
        var queuedBytes = 0
        var live: [String: LiveTask] = [:]
        var running = 0
        var closed = false
        /// Finished tasks whose events are kept for a late subscriber, oldest first.
        var recent: [String] = []
        var runner: (@Sendable (LiveTask) async -> Void)?
        /// Callbacks being delivered now (`TaskSettings.maxPendingCallbacks` at most).
        var callbacks = 0
    }
    let state = Mutex(State())
    static let keptFinished = 256

    init(settings: TaskSettings, store: any TaskStore, logger: Logger) {
        self.settings = settings
        self.store = store
        self.logger = logger
    }

    func setRunner(_ runner: @escaping @Sendable (LiveTask) async -> Void) { state.withLock { $0.runner = runner } }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    /// A request's size as JSON. A request that was decoded encodes; should it not, it counts as
    /// more than any body there is.
    static func requestBytes(_ request: TaskRequest) -> Int { (try? encoder.encode(request).count) ?? (64 << 20) }

    static func queueFull(waiting: Int, adding: Int, maximum: Int) -> EngineError {
        EngineError(.limitReached, "the tasks already waiting hold \(waiting >> 10) KiB of requests and this one \(adding >> 10) KiB "
            + "(at most \(maximum >> 10) KiB wait); retry later", retryAfterSeconds: 5)
    }

    /// Why a task of `requestBytes` cannot join the queue now, or nil: the server stops, or the queue
    /// holds its count or its bytes (by bytes too, one always fits: 10,000 requests of 2 MiB each
    /// were 20 GB held waiting).
    private func refusal(_ s: State, requestBytes: Int) -> EngineError? {
        if s.closed { return EngineError(.shuttingDown, "the server is shutting down; no new tasks") }
        if s.queue.count >= settings.maxQueued {
            return EngineError(.limitReached, "\(settings.maxQueued) tasks are already waiting; retry later", retryAfterSeconds: 5)
        }
        if !s.queue.isEmpty, s.queuedBytes > settings.maxQueuedBytes - requestBytes {
            return Self.queueFull(waiting: s.queuedBytes, adding: requestBytes, maximum: settings.maxQueuedBytes)
        }
        return nil
    }

    /// Refuses a task that would not fit in the queue now (before anything of it is written; the
    /// queue checks again when it takes it).
    func checkRoom(requestBytes: Int) throws(EngineError) {
        if let refused = state.withLock({ refusal($0, requestBytes: requestBytes) }) { throw refused }
    }

    /// Queues a task (it starts when a worker is free).
    func enqueue(_ task: LiveTask) throws(EngineError) {
        try state.withLock { (s: inout State) throws(EngineError) in
            if let refused = refusal(s, requestBytes: task.requestBytes) { throw refused }
            s.queue.append(task)
            s.queuedBytes += task.requestBytes
            s.live[task.id] = task
        }
        pump()
    }

    /// Starts queued tasks while workers are free.
    func pump() {
        while true {
            let next = state.withLock { s -> (LiveTask, @Sendable (LiveTask) async -> Void)? in
                guard !s.closed, s.running < settings.maxRunning, !s.queue.isEmpty, let runner = s.runner else { return nil }
                s.running += 1
                let task = s.queue.removeFirst()
                s.queuedBytes -= task.requestBytes
                return (task, runner)
            }
            guard let (task, runner) = next else { return }
            Task {
                await runner(task)
                self.finished(task)
                self.pump()
            }
        }
    }

    private func finished(_ task: LiveTask) {
        state.withLock { s in
            s.running -= 1
            s.recent.append(task.id)
            // By count and by the bytes of their events (a late subscriber of an evicted task gets
            // its events rebuilt from the store).
            var bytes = s.recent.reduce(0) { $0 + (s.live[$1]?.events.keptBytes ?? 0) }
            while s.recent.count > Self.keptFinished || (bytes > settings.maxFinishedEventBytes && !s.recent.isEmpty) {
                let old = s.recent.removeFirst()
                bytes -= s.live[old]?.events.keptBytes ?? 0
                s.live[old] = nil
            }
        }
    }

    /// Removes a scheduled task from the queue; false when it already started.
    func unqueue(_ id: String) -> Bool {
        state.withLock { s in
            guard let index = s.queue.firstIndex(where: { $0.id == id }) else { return false }
            let task = s.queue.remove(at: index)
            s.queuedBytes -= task.requestBytes
            s.recent.append(task.id)
            return true
        }
    }

    /// Takes a place among the callbacks being delivered; false when every place is taken.
    func startCallback() -> Bool {
        state.withLock { s in
            guard s.callbacks < settings.maxPendingCallbacks else { return false }
            s.callbacks += 1
            return true
        }
    }
    func endCallback() { state.withLock { $0.callbacks -= 1 } }

    func live(_ id: String) -> LiveTask? { state.withLock { $0.live[id] } }

    /// How many tasks wait ahead of `id`, nil when it is not waiting.
    func queuePosition(_ id: String) -> Int? { state.withLock { $0.queue.firstIndex { $0.id == id } } }

    /// Saves `task`'s state at a step's start or end, unless it is large and was saved recently:
    /// a second ago per MiB of its steps' output (the task's end and its other changes always
    /// save). Each save encodes the whole task, up to tens of MB of JSON for 8 MiB of control
    /// bytes: a large task saved at each of its steps is quadratic and held two cores for minutes.
    func saveSoon(_ task: LiveTask) async {
        let bytes = task.outputBytes
        let interval = UInt64(max(1, bytes >> 20)) * 1_000_000_000
        let due = bytes < Self.smallTaskBytes || DispatchTime.now().uptimeNanoseconds &- task.lastSavedNs.withLock { $0 } >= interval
        if due { await save(task) }
    }
    /// Output below which a task is saved at every change.
    static let smallTaskBytes = 256 << 10

    /// Saves `task`'s state; a failed write is logged and retried at the next change (the state
    /// in memory stays authoritative while the process lives).
    func save(_ task: LiveTask) async {
        task.lastSavedNs.withLock { $0 = DispatchTime.now().uptimeNanoseconds }
        do { try await store.saveTask(try task.row()) } catch {
            logger.error("a task could not be saved", metadata: ["task_id": .string(task.id), "error": .string("\(error)")])
        }
    }

    /// Stops starting tasks (server shutdown).
    func shutdown() {
        // Running tasks end with their sessions; a restart marks them failed (`recoverTasks`).
        state.withLock { $0.closed = true }
    }
}
