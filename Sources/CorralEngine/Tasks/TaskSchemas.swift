/// The JSON Schemas of the task API (see `SchemaDescribed`).
extension TaskRequest {
    /// `withTask`: the schema of `POST /schedule`, which also takes seed 002's `{"task": "..."}`.
    public static func schema(in context: SchemaContext, withTask: Bool) -> JSONSchema {
        let properties = Self.properties(in: context)
        let withSteps = desktopMemory(JSONSchema.object(properties, required: ["steps"]), in: context)
        guard !context.agentPresets.isEmpty else {
            // No code agent on this server: a task in words is refused with 400 (what to configure).
            return withTask ? withSteps.described("Seed 001's {steps}. Seed 002's {task} is refused with 400: this server has no model (--llm-url).") : withSteps
        }
        return JSONSchema.exactlyOne([withSteps, agentRunSchema(in: context)])
    }

    /// A task in words for the code agent (seed 002, `POST /v1/agent/runs`).
    /// On a server without a model no body is valid (each is a 400 naming --llm-url).
    public static func agentRunSchema(in context: SchemaContext) -> JSONSchema {
        guard !context.agentPresets.isEmpty else {
            return JSONSchema(["not": .object([:])]).described("This server has no model (corral serve --llm-url URL --llm-model NAME): every request is a 400.")
        }
        return desktopMemory(agentSchema(in: context, common: properties(in: context).filter { $0.0 != "steps" }), in: context)
    }

    /// A desktop needs memory of its own: with `desktop` (an object), or a step that needs one
    /// (gui, screenshot), max_memory_mb has a higher floor.
    static func desktopMemory(_ schema: JSONSchema, in context: SchemaContext) -> JSONSchema {
        let floor: JSONValue = .object(["properties": .object(["max_memory_mb": .object(
            JSONSchema.integer(minimum: DesktopSettings.minimumMemoryMB, maximum: context.maximumLimits.memoryMB).orNull.keywords)])])
        let withDesktop: JSONValue = .object(["properties": .object(["desktop": .object(["type": "object"])]), "required": .array(["desktop"])])
        let tools: JSONValue = .object(["enum": .array(TaskStepRequest.desktopTools.sorted().map(JSONValue.string))])
        let desktopStep: JSONValue = .object(["properties": .object(["steps": .object(["contains": .object([
            "properties": .object(["tool": tools]), "required": .array(["tool"])])])]), "required": .array(["steps"])])
        return schema.with("allOf", .array([withDesktop, desktopStep].map { .object(["if": $0, "then": floor]) }))
    }

    /// Every field but the agent's, as a task with steps takes them.
    static func properties(in context: SchemaContext) -> [(String, JSONSchema)] {
        let max = context.maximumLimits
        let steps = JSONSchema.array(.ref("TaskStep"), minItems: 1, maxItems: context.tasks.maxSteps)
        return CodingKeys.allCases.compactMap { key in
            let schema: JSONSchema
            switch key {
            case .steps: schema = steps.described("The steps, run in order in one session.")
            case .task, .preset, .dir, .model, .maxSteps, .tokenBudget: return nil
            case .callbackURL:
                // Only a server that allows callback hosts takes one, and only to those hosts.
                guard !context.tasks.allowedCallbackHosts.isEmpty else { return nil }
                schema = JSONSchema.string(pattern: TaskCallback.pattern(context.tasks.allowedCallbackHosts))
                    .described("POSTed the final task object when it finishes (retried until a 2xx); hosts: \(context.tasks.allowedCallbackHosts.joined(separator: ", ")).")
            case .files: schema = JSONSchema.map(.string(), keys: SessionPatterns.namedPathSchema).described("Initial files: workspace path → UTF-8 text.")
            case .language: schema = JSONSchema.enumeration(context.languageNames).described("The session's language (default python).")
            case .maxMemoryMb: schema = JSONSchema.integer(minimum: SessionSettings.minimumMemoryMB, maximum: max.memoryMB)
            case .processes: schema = JSONSchema.integer(minimum: SessionSettings.minimumProcesses, maximum: max.processes)
            case .cpuPercent: schema = JSONSchema.integer(minimum: SessionSettings.minimumCPUPercent, maximum: max.effectiveCPUPercent)
            case .diskMb: schema = JSONSchema.integer(minimum: 1, maximum: max.workspaceMB)
            case .allowNetwork: schema = JSONSchema.boolean
            case .environmentVars: schema = SessionPatterns.environment
            case .timeoutSeconds: schema = JSONSchema.number(minimum: 0.001, maximum: context.tasks.maxStepSeconds).described("Default timeout of each step, seconds.")
            case .continueOnError: schema = JSONSchema.boolean.described("Run the next steps after a failed one (the task then completes); default false, true on /schedule.")
            case .metadata: schema = JSONSchema.map(.string())
            case .desktop: schema = JSONSchema.ref("DesktopSettings").described("A virtual display in the task's session (docs/desktop.md); gui and screenshot steps get a 1024x768 one without it.")
            }
            return (key.stringValue, key == .steps ? schema : schema.orNull)
        }
    }

    /// The agent's fields and `common`.
    static func agentSchema(in context: SchemaContext, common: [(String, JSONSchema)]) -> JSONSchema {
        let agent: [(String, JSONSchema)] = [
            ("task", JSONSchema.string(minLength: 1, pattern: RequestText.nonBlankPattern).with("maxLength", 30_000).described("What the agent should do, in words.")),
            ("preset", (context.agentPresets.isEmpty ? JSONSchema.string(minLength: 1) : JSONSchema.enumeration(context.agentPresets)).orNull
                .described("Tools, template and mount (default general).")),
            ("dir", JSONSchema.string(minLength: 1, pattern: SessionPatterns.noNUL).orNull.described("A host directory under a root the server allows: read-only for digger, a shadow copy otherwise.")),
            ("model", JSONSchema.enumeration(context.agentModels).orNull.described("The model to ask (default: the server's --llm-model; others with --llm-allow-model).")),
            ("max_steps", JSONSchema.integer(minimum: 1, maximum: 100).orNull),
            ("token_budget", JSONSchema.integer(minimum: 1, maximum: 10_000_000).orNull),
        ]
        return JSONSchema.object(agent + common, required: ["task"])
    }
}

extension TaskStepRequest {
    /// One variant per tool, each with exactly the fields the tool takes.
    public static func schema(in context: SchemaContext) -> JSONSchema {
        let noNUL = JSONSchema.string(pattern: SessionPatterns.noNUL)
        let fields: [String: JSONSchema] = [
            "command": noNUL.described("Run by /bin/bash -c in the workspace."),
            "code": JSONSchema.string(pattern: SessionPatterns.noNUL).with("maxLength", 30_000),
            "language": JSONSchema.enumeration(context.languageNames),
            "path": SessionPatterns.namedPathSchema.described("A path in the task's workspace."),
            "content": noNUL.described("UTF-8 text to write."),
            "actions": JSONSchema.array(.ref("DesktopAction"), minItems: 1, maxItems: DesktopActionsRequest.maxActions)
                .described("Keyboard and mouse actions on the task session's desktop, as POST /v1/sessions/{id}/desktop/actions takes them."),
        ]
        return JSONSchema.exactlyOne(tools.map { tool in
            var properties: [(String, JSONSchema)] = [("tool", JSONSchema.constant(.string(tool.name))),
                ("name", JSONSchema.string().orNull), ("timeout_seconds", JSONSchema.number(minimum: 0.001, maximum: context.tasks.maxStepSeconds).orNull)]
            for name in tool.required { properties.append((name, fields[name] ?? .string())) }
            return .object(properties, required: ["tool"] + tool.required)
        }).described("A step: shell {command}, code {language, code}, python {code}, typescript {code}, write_file {path, content}, read_file {path}, gui {actions}, screenshot {} (saved as screenshot-N.png in the task's directory).")
    }
}

extension TaskInfo {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self) { key in
            switch key {
            case .taskID: JSONSchema.string(minLength: 1)
            case .status: JSONSchema.enumeration(TaskStatus.allCases.map(\.rawValue))
            case .createdAt: JSONSchema.string().described("RFC 3339 time.")
            case .startedAt, .finishedAt: JSONSchema.string().orNull
            case .error: JSONSchema.string().orNull.described("Why the task failed or was cancelled.")
            case .queuePosition: JSONSchema.integer(minimum: 0).orNull.described("While scheduled: tasks ahead of it.")
            case .continueOnError: JSONSchema.boolean
            case .metadata: JSONSchema.map(.string())
            case .steps: JSONSchema.array(.ref("TaskStepState"))
            case .directory, .logPath, .memoryPath: JSONSchema.string().described("A path on the server's host.")
            case .statusURL, .eventsURL: JSONSchema.string()
            case .outputURL: JSONSchema.string().orNull.described("The output archive, once the task has finished.")
            case .callback: JSONSchema.object(TaskCallback.CodingKeys.self) { k in
                    switch k {
                    case .url, .lastError: JSONSchema.string().orNull
                    case .status: JSONSchema.enumeration(["pending", "delivered", "failed"])
                    case .attempts: JSONSchema.integer(minimum: 0)
                    }
                }.orNull.described("The callback's delivery, when the task named a callback_url.")
            }
        }
    }
}

extension TaskStepInfo {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self) { key in
            switch key {
            case .index: JSONSchema.integer(minimum: 0)
            case .tool: JSONSchema.enumeration(TaskStepRequest.toolNames + [Engine.agentTool])
            case .name: JSONSchema.string().orNull
            case .status: JSONSchema.enumeration(TaskStepStatus.allCases.map(\.rawValue))
            case .startedAt, .finishedAt: JSONSchema.string().orNull
            case .input: JSONSchema.object(TaskStepRequest.CodingKeys.self, required: [.tool]) { k in
                    switch k {
                    case .timeoutSeconds: JSONSchema.number(minimum: 0)
                    case .actions: JSONSchema.array(.ref("DesktopAction"))
                    default: JSONSchema.string()
                    }
                }
            case .result: JSONSchema.ref("ExecutionResult").orNull.described("The step's result object, once it has run.")
            }
        }
    }
}
