import Foundation

/// `POST /v1/tasks` (and `POST /schedule`): steps run in order in one session, or (seed 002) a
/// task in words for the code agent.
public struct TaskRequest: Sendable, Codable, KnownFields {
    public var steps: [TaskStepRequest]?
    /// Seed 002: a task in natural language (needs a model: the code agent).
    public var task: String?
    /// Initial files: workspace path → UTF-8 text.
    public var files: [String: String]?
    public var language: String?
    public var maxMemoryMb: Int?
    public var processes: Int?
    public var cpuPercent: Int?
    public var diskMb: Int?
    public var allowNetwork: Bool?
    public var environmentVars: [String: String]?
    /// A virtual display in the task's session (docs/desktop.md); a `gui` or `screenshot` step
    /// without it gets the default one (1024×768×24).
    public var desktop: DesktopSettings?
    /// Default timeout of each step, seconds.
    public var timeoutSeconds: Double?
    /// Go on after a failed step (the task then completes); default false (true on `/schedule`).
    public var continueOnError: Bool?
    public var metadata: [String: String]?
    public var callbackURL: String?
    /// With `task` only: the code agent's preset, host directory, model, step and token limits.
    public var preset: String?
    public var dir: String?
    public var model: String?
    public var maxSteps: Int?
    public var tokenBudget: Int?

    public init(steps: [TaskStepRequest]) { self.steps = steps }
    public init(task: String) { self.task = task }

    /// The agent fields.
    public var agentOptions: AgentTaskOptions {
        AgentTaskOptions(preset: preset, dir: dir, model: model, maxSteps: maxSteps, tokenBudget: tokenBudget)
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case steps, task, files, language, processes, metadata, preset, dir, model, desktop
        case maxSteps = "max_steps"
        case tokenBudget = "token_budget"
        case maxMemoryMb = "max_memory_mb"
        case cpuPercent = "cpu_percent"
        case diskMb = "disk_mb"
        case allowNetwork = "allow_network"
        case environmentVars = "environment_vars"
        case timeoutSeconds = "timeout_seconds"
        case continueOnError = "continue_on_error"
        case callbackURL = "callback_url"
    }
    public static let fieldNames = Set(CodingKeys.allCases.map(\.rawValue))
    public static var wholeNumberFields: Set<String> { ["max_memory_mb", "processes", "cpu_percent", "disk_mb", "max_steps", "token_budget"] }
    public static var elementTypes: [String: any KnownFields.Type] { ["steps": TaskStepRequest.self] }
    public static var objectTypes: [String: any KnownFields.Type] { ["desktop": DesktopSettings.self] }

    /// The display the task's session gets: `desktop`, else the default one when a step drives or
    /// reads a desktop; nil for none.
    public var desktopSettings: DesktopSettings? {
        desktop ?? ((steps ?? []).contains { TaskStepRequest.desktopTools.contains($0.tool) } ? DesktopSettings() : nil)
    }

    public func checkShape() throws(EngineError) {
        switch (steps, task) {
        case (nil, nil): throw EngineError(.invalidRequest, "give 'steps' (a list of tools to run) or 'task' (a task in words for the code agent)", field: "steps")
        case (.some, .some): throw EngineError(.invalidRequest, "give 'steps' or 'task', not both", field: "task")
        case (let steps?, nil):
            guard !steps.isEmpty else { throw EngineError(.invalidRequest, "steps is empty: give at least one step", field: "steps") }
            for (index, step) in steps.enumerated() { try step.check(index) }
        case (nil, let task?):
            guard !RequestText.isBlank(task) else {
                throw EngineError(.invalidRequest, "task is empty: say in words what the agent should do", field: "task")
            }
            guard task.unicodeScalars.count <= 30_000 else {
                throw EngineError(.invalidRequest, "task must be at most 30,000 characters", field: "task")
            }
            for (name, value) in [("model", model), ("dir", dir)] {
                if let value, value.isEmpty || value.utf8.contains(0) {
                    throw EngineError(.invalidRequest, "\(name) must be a non-empty text without NUL", field: name)
                }
            }
            if let maxSteps, !(1...100).contains(maxSteps) { throw EngineError(.invalidLimit, "max_steps must be between 1 and 100", field: "max_steps") }
            if let tokenBudget, !(1...10_000_000).contains(tokenBudget) {
                throw EngineError(.invalidLimit, "token_budget must be between 1 and 10,000,000", field: "token_budget")
            }
        }
        if steps != nil, let extra = [("preset", preset), ("dir", dir), ("model", model)].first(where: { $0.1 != nil })?.0
            ?? (maxSteps != nil ? "max_steps" : tokenBudget != nil ? "token_budget" : nil) {
            throw EngineError(.invalidRequest, "'\(extra)' belongs to a task in words ('task'), not to 'steps'", field: extra)
        }
    }
}

/// One step: a tool and its fields.
public struct TaskStepRequest: Sendable, Codable, KnownFields, Equatable {
    public var tool: String
    public var command: String?
    public var code: String?
    public var language: String?
    public var path: String?
    public var content: String?
    public var timeoutSeconds: Double?
    public var name: String?
    /// For `gui`: the desktop actions, as `POST /v1/sessions/{id}/desktop/actions` takes them.
    public var actions: [DesktopAction]?

    public init(tool: String, command: String? = nil, code: String? = nil, language: String? = nil, path: String? = nil, content: String? = nil,
                actions: [DesktopAction]? = nil) {
        self.tool = tool; self.command = command; self.code = code; self.language = language; self.path = path; self.content = content
        self.actions = actions
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case tool, command, code, language, path, content, name, actions
        case timeoutSeconds = "timeout_seconds"
    }
    public static let fieldNames = Set(CodingKeys.allCases.map(\.rawValue))
    public static var elementTypes: [String: any KnownFields.Type] { ["actions": DesktopAction.self] }
    /// The tools that need the session's desktop.
    public static let desktopTools: Set<String> = ["gui", "screenshot"]

    /// The tools and the fields each takes (besides `tool`, `name` and `timeout_seconds`).
    public static let tools: [(name: String, required: [String], optional: [String])] = [
        ("shell", ["command"], []), ("code", ["language", "code"], []), ("python", ["code"], []), ("typescript", ["code"], []),
        ("write_file", ["path", "content"], []), ("read_file", ["path"], []), ("gui", ["actions"], []), ("screenshot", [], []),
    ]
    public static var toolNames: [String] { tools.map(\.name) }

    func check(_ index: Int) throws(EngineError) {
        let field = "steps[\(index)]"
        guard let spec = Self.tools.first(where: { $0.name == tool }) else {
            throw EngineError(.invalidRequest, "\(field): unknown tool '\(tool)'; the tools are \(Self.toolNames.joined(separator: ", "))", field: "\(field).tool")
        }
        let given: [String: String?] = ["command": command, "code": code, "language": language, "path": path, "content": content]
        let present = Set(given.compactMap { $0.value == nil ? nil : $0.key } + (actions == nil ? [] : ["actions"]))
        for key in spec.required where !present.contains(key) {
            throw EngineError(.invalidRequest, "\(field): the \(tool) tool needs '\(key)'", field: "\(field).\(key)")
        }
        for key in present.sorted() where !spec.required.contains(key) && !spec.optional.contains(key) {
            let takes = spec.required.isEmpty ? "it takes only name and timeout_seconds" : "it takes \(spec.required.joined(separator: ", "))"
            throw EngineError(.invalidRequest, "\(field): the \(tool) tool takes no '\(key)' (\(takes))", field: "\(field).\(key)")
        }
        if let actions, !(1...DesktopActionsRequest.maxActions).contains(actions.count) {
            throw EngineError(.invalidRequest, "\(field).actions: give 1 to \(DesktopActionsRequest.maxActions) actions, got \(actions.count)", field: "\(field).actions")
        }
        for (key, value) in given where (value ?? "").utf8.contains(0) {
            throw EngineError(.invalidRequest, "\(field).\(key) contains a NUL byte", field: "\(field).\(key)")
        }
        if let timeoutSeconds, !(timeoutSeconds.isFinite && timeoutSeconds >= 0.001 && timeoutSeconds <= 3600) {
            throw EngineError(.invalidLimit, "\(field).timeout_seconds must be 0.001 to 3600, got \(timeoutSeconds)", field: "\(field).timeout_seconds")
        }
    }

    /// The language a code step runs.
    var codeLanguage: String? {
        switch tool {
        case "python": "python"
        case "typescript": "typescript"
        case "code": language
        default: nil
        }
    }
}
