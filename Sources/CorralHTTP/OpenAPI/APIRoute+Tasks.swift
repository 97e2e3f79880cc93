import CorralEngine

/// The task routes (docs/tasks.md): steps run in order in a session of their own, with a
/// directory, a log, a memory and an archive that outlive it; and seed 001/002's routes verbatim.
extension APIRoute {
    static let taskErrors: [APIErrorCode] = [.invalidRequest, .notFound, .internalError]
    static let zipMedia: [String: JSONSchema] = ["application/zip": JSONSchema(["type": "string", "format": "binary"])]

    public static let createTask = APIRoute(method: .post, path: "/v1/tasks", operationID: "createTask",
        summary: "Schedule a task: its steps run in order in a session of its own; answers at once with its id (202).",
        requestSchema: "TaskRequest", responseSchema: "TaskAccepted",
        errors: bodyErrors + [.unknownLanguage, .invalidLimit, .forbidden, .limitReached, .shuttingDown, .internalError], successStatus: 202)
    public static let listTasks = APIRoute(method: .get, path: "/v1/tasks", operationID: "listTasks",
        summary: "The caller's tasks, newest first.", responseSchema: "TaskList", query: [.taskStatus, .taskLimit, .offset],
        errors: [.invalidRequest, .internalError])
    public static let getTask = APIRoute(method: .get, path: "/v1/tasks/{id}", operationID: "getTask",
        summary: "A task: its status, each step's result object, its log and memory paths.", responseSchema: "Task", errors: taskErrors)
    public static let cancelTask = APIRoute(method: .post, path: "/v1/tasks/{id}/cancel", operationID: "cancelTask",
        summary: "Cancel a scheduled or running task (its running step is killed).", responseSchema: "Task",
        errors: taskErrors + [.conflict])
    public static let taskEvents = APIRoute(method: .get, path: "/v1/tasks/{id}/events", operationID: "taskEvents",
        summary: "The task's events as Server-Sent Events (resume with Last-Event-ID or last_event_id).", responseSchema: nil,
        query: [.lastEventID], errors: taskErrors,
        responseMedia: ["text/event-stream": eventSchema(["task_started", "step_started", "output", "step_finished", "task_finished"])])
    public static let taskOutput = APIRoute(method: .get, path: "/v1/tasks/{id}/output.zip", operationID: "taskOutput",
        summary: "The zip of the task's directory (agent.log, memory.json, its files), once it has finished.", responseSchema: nil,
        errors: taskErrors + [.conflict], responseMedia: zipMedia)
    public static let taskFile = APIRoute(method: .get, path: "/v1/tasks/{id}/files/{path}", operationID: "taskFile",
        summary: "One file of the task (its path may hold slashes): from its workspace while it runs, its directory after.",
        responseSchema: nil, errors: taskErrors + [.conflict, .payloadTooLarge],
        responseMedia: ["application/octet-stream": JSONSchema(["type": "string", "format": "binary"])], catchAll: true)

    public static let agentRun = APIRoute(method: .post, path: "/v1/agent/runs", operationID: "createAgentRun",
        summary: "Run the code agent on a task in words (a preset, a host directory, model options): a task (202) whose one step is the agent; "
            + "its answer is the step's stdout, its transcript agent_transcript.json in output.zip. 400 when the server has no model (--llm-url).",
        requestSchema: "AgentRunRequest", responseSchema: "TaskAccepted",
        errors: bodyErrors + [.unknownLanguage, .invalidLimit, .forbidden, .limitReached, .shuttingDown, .internalError], successStatus: 202)

    static var taskRoutes: [APIRoute] { [createTask, listTasks, getTask, cancelTask, taskEvents, taskOutput, taskFile, agentRun] }

    // Seeds 001 and 002, verbatim.
    public static let schedule = APIRoute(method: .post, path: "/schedule", operationID: "schedule",
        summary: "Seed 001: {steps: [...]} → {task_id}. Seed 002's {task: \"...\"} runs the code agent (400 when the server has no model: --llm-url).",
        requestSchema: "ScheduleRequest", responseSchema: "ScheduleResponse",
        errors: bodyErrors + [.unknownLanguage, .invalidLimit, .forbidden, .limitReached, .shuttingDown, .internalError])
    public static let seedStatus = APIRoute(method: .get, path: "/status", operationID: "seedStatus",
        summary: "Seed 001: scheduled, running, completed or failed, and the path of the log.", responseSchema: "SeedTaskStatus",
        query: [.taskID], errors: taskErrors)
    public static let seedJobStatus = APIRoute(method: .get, path: "/status/{id}", operationID: "seedJobStatus",
        summary: "Seed 002: running, complete or failed, the output's path and the error.", responseSchema: "SeedJobStatus", errors: taskErrors)
    public static let seedJobOutput = APIRoute(method: .get, path: "/jobs/{id}/output.zip", operationID: "seedJobOutput",
        summary: "Seed 002: the zip of the job's directory.", responseSchema: nil, errors: taskErrors + [.conflict], responseMedia: zipMedia)

    static var seedTaskRoutes: [APIRoute] { [schedule, seedStatus, seedJobStatus, seedJobOutput] }
}

extension QueryParameter {
    public static let taskStatus = QueryParameter(name: "status", description: "Only tasks with this status.") { _ in
        .enumeration(TaskStatus.allCases.map(\.rawValue))
    }
    public static let taskLimit = QueryParameter(name: "limit", description: "Page size (default 50).") { _ in
        .integer(minimum: 1, maximum: 500)
    }
    public static let lastEventID = QueryParameter(name: "last_event_id", description: "Resume after this event id (as the Last-Event-ID header).") { _ in
        .integer(minimum: 0, maximum: Int(Int32.max))
    }
    public static let taskID = QueryParameter(name: "task_id", description: "The task's id.", required: true) { _ in
        .string(minLength: 1)
    }
}
