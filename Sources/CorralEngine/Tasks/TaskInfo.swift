import CorralSandbox
import Foundation

public enum TaskStatus: String, Sendable, Codable, CaseIterable {
    case scheduled, running, completed, failed, cancelled
    public var isFinished: Bool { self == .completed || self == .failed || self == .cancelled }
}

/// A task as `GET /v1/tasks/{id}` shows it, and as the store keeps it (one JSON document).
public struct TaskInfo: Sendable, Codable {
    public var taskID: String
    public var status: TaskStatus
    public var createdAt: String
    public var startedAt: String?
    public var finishedAt: String?
    /// Why a task failed or was cancelled, in words.
    public var error: String?
    /// While scheduled: how many tasks are ahead of it (0: next to start).
    public var queuePosition: Int?
    public var continueOnError: Bool
    public var metadata: [String: String]
    public var steps: [TaskStepInfo]
    /// Host paths of the task's directory, its log and its memory (seed 001).
    public var directory: String
    public var logPath: String
    public var memoryPath: String
    public var statusURL: String
    public var eventsURL: String
    /// The zip of the task directory, once the task has finished.
    public var outputURL: String?
    /// The callback's delivery, when the task named a `callback_url`.
    public var callback: TaskCallback?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case status, error, metadata, steps, directory, callback
        case taskID = "task_id"
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case queuePosition = "queue_position"
        case continueOnError = "continue_on_error"
        case logPath = "log_path"
        case memoryPath = "memory_path"
        case statusURL = "status_url"
        case eventsURL = "events_url"
        case outputURL = "output_url"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(taskID, forKey: .taskID)
        try c.encode(status, forKey: .status)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(startedAt, forKey: .startedAt)
        try c.encode(finishedAt, forKey: .finishedAt)
        try c.encode(error, forKey: .error)
        try c.encode(queuePosition, forKey: .queuePosition)
        try c.encode(continueOnError, forKey: .continueOnError)
        try c.encode(metadata, forKey: .metadata)
        try c.encode(steps, forKey: .steps)
        try c.encode(directory, forKey: .directory)
        try c.encode(logPath, forKey: .logPath)
        try c.encode(memoryPath, forKey: .memoryPath)
        try c.encode(statusURL, forKey: .statusURL)
        try c.encode(eventsURL, forKey: .eventsURL)
        try c.encode(outputURL, forKey: .outputURL)
        try c.encode(callback, forKey: .callback)
    }
}

public enum TaskStepStatus: String, Sendable, Codable, CaseIterable {
    case scheduled, running, completed, failed, skipped, cancelled
}

/// One step of a task: what it runs and, once run, its result object (as `POST /v1/execute` gives it).
public struct TaskStepInfo: Sendable, Codable {
    public var index: Int
    public var tool: String
    public var name: String?
    public var status: TaskStepStatus
    public var startedAt: String?
    public var finishedAt: String?
    public var input: TaskStepRequest
    public var result: StepResult?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case index, tool, name, status, input, result
        case startedAt = "started_at"
        case finishedAt = "finished_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(index, forKey: .index)
        try c.encode(tool, forKey: .tool)
        try c.encode(name, forKey: .name)
        try c.encode(status, forKey: .status)
        try c.encode(startedAt, forKey: .startedAt)
        try c.encode(finishedAt, forKey: .finishedAt)
        try c.encode(input, forKey: .input)
        try c.encode(result, forKey: .result)
    }
}

/// A step's result: the execute result object with its `execution_id`.
public struct StepResult: Sendable, Codable {
    public var executionID: String
    public var result: RunResult

    public init(executionID: String, result: RunResult) { self.executionID = executionID; self.result = result }

    enum Keys: String, CodingKey { case executionID = "execution_id" }

    public init(from decoder: any Decoder) throws {
        executionID = try decoder.container(keyedBy: Keys.self).decode(String.self, forKey: .executionID)
        result = try RunResult(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        try ExecutionResponse(executionID: executionID, result: result).encode(to: encoder)
    }
}

/// `GET /v1/tasks`: a page, newest first.
public struct TaskList: Sendable, Encodable {
    public var tasks: [TaskInfo]
    public var total: Int
    public var limit: Int
    public var offset: Int
}

/// `POST /v1/tasks`'s answer (202).
public struct TaskAccepted: Sendable, Encodable {
    public var taskID: String
    public var status: TaskStatus
    public var statusURL: String
    public var eventsURL: String
    enum CodingKeys: String, CodingKey {
        case status
        case taskID = "task_id"
        case statusURL = "status_url"
        case eventsURL = "events_url"
    }
}
