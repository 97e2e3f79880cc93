/// How many tasks run and wait, how large they may be, and how long they are kept.
public struct TaskSettings: Sendable, Equatable {
    /// Where task directories and output archives live (`DATA_DIR/tasks`); nil: tasks are refused.
    public var directory: String?
    /// Tasks running at once (each in its own session); the rest wait in order.
    public var maxRunning = 4
    /// Tasks waiting before new ones are refused with 429.
    public var maxQueued = 10_000
    /// Bytes the waiting tasks' requests hold together (as JSON); past it a new task is a 429 (one
    /// task always fits).
    public var maxQueuedBytes = 256 << 20
    /// Steps of one task (`--max-steps`).
    public var maxSteps = 100
    /// Entries `memory.json` keeps; older ones are dropped (and counted) past it.
    public var memoryEntries = 100
    /// Finished tasks older than this are deleted with their directory (`--task-retention`); nil: kept.
    public var retentionSeconds: Double? = 7 * 86_400
    /// At most this many finished tasks are kept (the oldest go first); nil: no count limit.
    public var maxKept: Int? = 10_000
    /// Default timeout of one step, seconds.
    public var defaultStepSeconds: Double = 300
    /// Hosts a task's `callback_url` may name (`host` or `host:port`, `--allow-callback-host`); none by default.
    public var allowedCallbackHosts: [String] = []
    /// Tries of a callback, and the wait before the second (doubling after each).
    public var callbackAttempts = 5
    public var callbackBackoffSeconds: Double = 1
    /// Callbacks being delivered at once (each a thread holding the encoded task for up to about
    /// 65 s); a task that finishes past it records its callback as failed, not sent.
    public var maxPendingCallbacks = 32
    /// Longest timeout a step may ask for, seconds.
    public var maxStepSeconds: Double = 3600
    /// Output (stdout and stderr) the results of one task's steps hold together: a step may write at
    /// most what is left, and at most `max_output_size`'s default. A task is kept whole in memory while
    /// it runs and in each save: 100 steps of 1 MiB each (six times that as JSON, for control bytes)
    /// would take gigabytes and minutes of encoding.
    public var maxOutputBytes = 8 << 20
    /// Bytes of task documents one page of `GET /v1/tasks` holds at most (it always holds one).
    public var maxPageBytes = 32 << 20
    /// Bytes of events kept for finished tasks' late subscribers, all tasks together; past it the
    /// oldest are rebuilt from the store when asked (without their output chunks).
    public var maxFinishedEventBytes = 64 << 20

    public init() {}
}
