import Foundation

/// A task as the store keeps it: the fields it is found by, and the whole task as a JSON document
/// (the engine's `TaskInfo`), so the store never needs to change when a task grows a field.
public struct TaskRow: Sendable, Equatable {
    public var taskID: String
    public var owner: String
    /// `scheduled`, `running`, `completed`, `failed` or `cancelled`.
    public var status: String
    /// Unix time in milliseconds.
    public var createdAtMs: Int64
    public var document: Data

    public init(taskID: String, owner: String, status: String, createdAtMs: Int64, document: Data) {
        self.taskID = taskID; self.owner = owner; self.status = status; self.createdAtMs = createdAtMs; self.document = document
    }

    public static let finishedStatuses: Set<String> = ["completed", "failed", "cancelled"]
    public var isFinished: Bool { Self.finishedStatuses.contains(status) }
}

/// Which tasks a listing returns: an owner's, newest first, optionally of one status.
public struct TaskQuery: Sendable, Equatable {
    public var owner: String
    public var status: String?
    public var limit: Int
    public var offset: Int
    /// The page ends early once its documents would hold more than this many bytes (it always holds
    /// at least one task): a page of 500 large tasks must not be read into memory at once.
    public var maxBytes: Int?
    public init(owner: String, status: String? = nil, limit: Int = 50, offset: Int = 0, maxBytes: Int? = nil) {
        self.owner = owner; self.status = status; self.limit = limit; self.offset = offset; self.maxBytes = maxBytes
    }

    /// The first rows of `rows` that fit `maxBytes` (at least one).
    public func fitting(_ rows: some Sequence<TaskRow>) -> [TaskRow] {
        var kept: [TaskRow] = []
        var bytes = 0
        for row in rows {
            if let maxBytes, !kept.isEmpty, bytes + row.document.count > maxBytes { break }
            bytes += row.document.count
            kept.append(row)
        }
        return kept
    }
}

/// Where tasks live across restarts (the history database by default).
public protocol TaskStore: Sendable {
    /// Inserts or replaces the task `row.taskID`; durable once it returns.
    func saveTask(_ row: TaskRow) async throws
    func task(id: String) async throws -> TaskRow?
    /// A page of tasks and the number matching in all.
    func tasks(_ query: TaskQuery) async throws -> (rows: [TaskRow], total: Int)
    /// Tasks not finished (scheduled or running), of every owner: what a restart finds interrupted.
    func unfinishedTasks() async throws -> [TaskRow]
    /// Deletes finished tasks created before `beforeMs`, and the oldest finished ones past `keep`;
    /// returns the ids deleted (their directories are the caller's to remove).
    func pruneTasks(beforeMs: Int64?, keep: Int?) async throws -> [String]
}
