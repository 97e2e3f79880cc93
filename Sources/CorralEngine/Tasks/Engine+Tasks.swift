import CorralRuntimes
import CorralSandbox
import CorralStore
import Foundation

/// Tasks as the engine offers them to every front end: steps run in order in a session of their
/// own, with a directory that outlives it (docs/tasks.md).
extension Engine {
    /// Accepts a task: checks everything that can be checked before it runs (a bad step is a 400
    /// now, not a failed task later), saves it as `scheduled` and queues it.
    public func submitTask(_ request: TaskRequest, context: ExecutionContext) async throws(EngineError) -> TaskAccepted {
        var agentShape: AgentSessionShape?
        if request.task != nil {
            guard let agent = configuration.codeAgent else {
                throw EngineError(.invalidRequest, "'task' (a task in words) needs the code agent and a model, and no model is configured on this server "
                    + "(corral serve --llm-url URL --llm-model NAME); give 'steps' instead (tools: \(TaskStepRequest.toolNames.joined(separator: ", ")))",
                    field: "task")
            }
            agentShape = try agentSessionShape(agent, request)
        }
        guard let root = configuration.tasks.directory else {
            throw EngineError(.internalError, "this engine has no task directory (EngineConfiguration.tasks.directory); corral serve sets DATA_DIR/tasks")
        }
        // A task in words is one `agent` step: the agent's own steps are in its transcript.
        let steps = request.task.map { [TaskStepRequest(tool: Self.agentTool, content: $0)] } ?? request.steps ?? []
        guard steps.count <= configuration.tasks.maxSteps else {
            throw EngineError(.invalidRequest, "a task holds at most \(configuration.tasks.maxSteps) steps (--max-steps), got \(steps.count)", field: "steps")
        }
        if let url = request.callbackURL { _ = try TaskCallback.target(url, allowed: configuration.tasks.allowedCallbackHosts) }
        for (index, step) in steps.enumerated() {
            if let path = step.path {
                let relative: String
                do throws(WorkspaceFiles.Failure) { relative = try WorkspaceFiles.normalise(path) } catch {
                    throw EngineError(.invalidRequest, "steps[\(index)].path: \(Self.describe(error)); paths are relative to the task's workspace (/workspace)",
                                      field: "steps[\(index)].path")
                }
                if relative.isEmpty {
                    throw EngineError(.invalidRequest, "steps[\(index)].path names the task directory itself: name a file in it", field: "steps[\(index)].path")
                }
            }
            if let name = step.codeLanguage, runtime.catalog.language(named: name) == nil {
                throw EngineError(.unknownLanguage, "steps[\(index)]: unknown language '\(name)'; GET /v1/languages lists them", field: "steps[\(index)].language")
            }
            if let code = step.code, code.unicodeScalars.count > 30_000 {
                throw EngineError(.invalidRequest, "steps[\(index)].code is longer than 30,000 characters: write it with write_file and run it with shell",
                                  field: "steps[\(index)].code")
            }
        }
        let maxSeconds = configuration.tasks.maxStepSeconds
        if let timeout = request.timeoutSeconds, !(timeout.isFinite && timeout >= 0.001 && timeout <= maxSeconds) {
            throw EngineError(.invalidLimit, "timeout_seconds must be 0.001 to \(SessionManager.seconds(maxSeconds))", field: "timeout_seconds")
        }
        for (index, step) in steps.enumerated() {
            if let timeout = step.timeoutSeconds, timeout > maxSeconds {
                throw EngineError(.invalidLimit, "steps[\(index)].timeout_seconds must be at most \(SessionManager.seconds(maxSeconds))",
                                  field: "steps[\(index)].timeout_seconds")
            }
        }
        var plan = try sessions.plan(Self.sessionRequest(request, agent: agentShape), maximum: configuration.maximumLimits)
        if let desktop = try Self.planDesktop(request.desktopSettings, &plan) {
            // Each action's shape is a 400 now. Its points are checked against the session's screen
            // when the step runs, as its key names are (the schema cannot tie them to `desktop`).
            let largest = DesktopInfo(display: desktop.display, width: DesktopSettings.widths.upperBound, height: DesktopSettings.heights.upperBound,
                                      depth: desktop.depth)
            for (index, step) in steps.enumerated() {
                guard let actions = step.actions else { continue }
                do throws(EngineError) { _ = try DesktopAction.xdotool(actions, screen: largest) } catch {
                    throw EngineError(error.code, "steps[\(index)]." + error.message, field: "steps[\(index)]." + (error.field ?? "actions"))
                }
            }
        }

        // A full queue refuses before the task's directory and row are written.
        try tasks.checkRoom(requestBytes: TaskManager.requestBytes(request))
        let id = UUID().uuidString.lowercased()
        let now = Date()
        let directory = TaskDirectory(root: root, taskID: id, memoryLimit: configuration.tasks.memoryEntries,
                                      maxWrittenBytes: plan.limits.workspaceMB << 20)
        try directory.create()
        let info = TaskInfo(
            taskID: id, status: .scheduled, createdAt: Session.iso(now.timeIntervalSince1970), continueOnError: request.continueOnError ?? false,
            metadata: request.metadata ?? [:],
            steps: steps.enumerated().map { TaskStepInfo(index: $0.offset, tool: $0.element.tool, name: $0.element.name, status: .scheduled, input: $0.element) },
            directory: directory.path, logPath: directory.logPath, memoryPath: directory.memoryPath,
            statusURL: "/v1/tasks/\(id)", eventsURL: "/v1/tasks/\(id)/events",
            callback: request.callbackURL.map { TaskCallback(url: $0, status: "pending", attempts: 0) })
        let task = LiveTask(id: id, owner: Self.owner(context), request: request, directory: directory, info: info,
                            createdAtMs: Int64((now.timeIntervalSince1970 * 1000).rounded()))
        directory.log("scheduled: \(steps.count) step(s)")
        await tasks.save(task)
        do throws(EngineError) { try tasks.enqueue(task) } catch {
            task.update { $0.status = .failed; $0.error = error.message }
            await tasks.save(task)
            throw error
        }
        return TaskAccepted(taskID: id, status: .scheduled, statusURL: info.statusURL, eventsURL: info.eventsURL)
    }

    static func describe(_ failure: WorkspaceFiles.Failure) -> String {
        switch failure {
        case .invalidPath(let s), .notFound(let s), .symlink(let s), .tooLarge(let s), .system(let s): s
        }
    }

    /// What a task in words needs of its session, within this server's maximum memory.
    func agentSessionShape(_ agent: any CodeAgent, _ request: TaskRequest) throws(EngineError) -> AgentSessionShape {
        var shape = try agent.sessionShape(request.agentOptions)
        shape.memoryMb = min(shape.memoryMb, configuration.maximumLimits.memoryMB)
        return shape
    }

    /// The step tool of a task in words.
    static let agentTool = "agent"

    /// The session a task runs in (an agent's: its template's memory, its directory mounted).
    static func sessionRequest(_ request: TaskRequest, agent: AgentSessionShape? = nil) -> CreateSessionRequest {
        var s = CreateSessionRequest()
        s.language = request.language
        s.maxMemoryMb = request.maxMemoryMb ?? agent?.memoryMb
        if let agent, let dir = request.dir { s.mount = CreateSessionRequest.Mount(hostPath: dir, mode: agent.mountMode) }
        s.processes = request.processes
        s.cpuPercent = request.cpuPercent
        s.diskMb = request.diskMb
        s.allowNetwork = request.allowNetwork
        s.environmentVars = request.environmentVars
        s.files = request.files
        return s
    }

    /// One task of the caller, live or from the store.
    public func task(_ id: String, context: ExecutionContext) async throws(EngineError) -> TaskInfo {
        if let live = tasks.live(id), live.owner == Self.owner(context) {
            var info = live.info
            info.queuePosition = tasks.queuePosition(id)
            return info
        }
        let row: TaskRow?
        do { row = try await tasks.store.task(id: id) } catch {
            throw EngineError(.internalError, "the task store cannot be read: \(error)")
        }
        guard let row, row.owner == Self.owner(context) else {
            throw EngineError(.notFound, "no task \(id) (GET /v1/tasks lists yours)")
        }
        do { return try JSONDecoder().decode(TaskInfo.self, from: row.document) } catch {
            throw EngineError(.internalError, "task \(id) is stored in a form this server cannot read: \(error)")
        }
    }

    /// The caller's tasks, newest first.
    public func listTasks(status: TaskStatus?, limit: Int, offset: Int, context: ExecutionContext) async throws(EngineError) -> TaskList {
        let page: (rows: [TaskRow], total: Int)
        do { page = try await tasks.store.tasks(TaskQuery(owner: Self.owner(context), status: status?.rawValue, limit: limit, offset: offset,
                                                         maxBytes: configuration.tasks.maxPageBytes)) } catch {
            throw EngineError(.internalError, "the task store cannot be read: \(error)")
        }
        let infos = page.rows.compactMap { row -> TaskInfo? in
            if let live = tasks.live(row.taskID) {
                var info = live.info
                info.queuePosition = tasks.queuePosition(row.taskID)
                return info
            }
            return try? JSONDecoder().decode(TaskInfo.self, from: row.document)
        }
        return TaskList(tasks: infos, total: page.total, limit: limit, offset: offset)
    }

    /// Cancels a scheduled or running task (a finished one is a conflict).
    public func cancelTask(_ id: String, context: ExecutionContext) async throws(EngineError) -> TaskInfo {
        let info = try await task(id, context: context)
        guard !info.status.isFinished else {
            throw EngineError(.conflict, "task \(id) has already finished (\(info.status.rawValue))")
        }
        guard let live = tasks.live(id) else { throw EngineError(.conflict, "task \(id) is not running in this server") }
        live.cancel()
        if tasks.unqueue(id) {
            // It never started: it ends here.
            await finishTask(live, status: .cancelled, error: "cancelled before it started", workspace: nil)
        }
        return try await task(id, context: context)
    }

    /// The events of a task: replayed after `lastEventID`, then live until it ends.
    public func taskEvents(_ id: String, after lastEventID: Int, context: ExecutionContext) async throws(EngineError) -> AsyncStream<TaskEvent> {
        let info = try await task(id, context: context)
        // A task's events count from 1 and are few: an id past Int32.max names none of them, and a
        // rebuilt log numbers its last event after it (never Int.max + 1, whatever a caller sends).
        let lastEventID = min(max(lastEventID, 0), Int(Int32.max))
        if let live = tasks.live(id) { return live.events.subscribe(after: lastEventID) }
        // A task of an earlier run of the server (or long finished): its events are rebuilt from its
        // record, without its output chunks. Their ids are not the original ones: a client resuming
        // past them still gets `task_finished`, so no stream ends without it.
        let log = TaskEventLog()
        for step in info.steps where step.startedAt != nil {
            log.append("step_started", StepEvent(step: step.index, tool: step.tool, name: step.name))
            log.append("step_finished", StepEvent(step: step.index, tool: step.tool, name: step.name, status: step.status, result: step.result))
        }
        if info.status.isFinished { log.append("task_finished", info, id: max(log.count + 1, lastEventID + 1)) }
        log.finish()
        return log.subscribe(after: lastEventID)
    }

    /// The path of a finished task's output archive.
    public func taskArchive(_ id: String, context: ExecutionContext) async throws(EngineError) -> String {
        let info = try await task(id, context: context)
        guard info.status.isFinished, let root = configuration.tasks.directory else {
            throw EngineError(.conflict, "task \(id) is \(info.status.rawValue): its output.zip is written when it finishes")
        }
        let path = root + "/" + id + ".zip"
        guard access(path, R_OK) == 0 else { throw EngineError(.notFound, "task \(id) has no output archive (it was pruned or could not be written)") }
        return path
    }

    /// One file of a task: from its directory once finished (agent.log and memory.json at any time),
    /// from its live workspace while it runs.
    public func taskFile(_ id: String, path: String, context: ExecutionContext) async throws(EngineError) -> [UInt8] {
        let info = try await task(id, context: context)
        let relative: String
        do throws(WorkspaceFiles.Failure) { relative = try WorkspaceFiles.normalise(path) } catch {
            throw EngineError(.invalidRequest, Self.describe(error), field: "path")
        }
        let limit = sessions.settings.maxFileBytes
        var files = WorkspaceFiles(root: info.directory, owner: 0)
        if !info.status.isFinished, let live = tasks.live(id), !live.directory.isServerFile(relative), let session = live.session {
            files = session.files
        }
        do throws(WorkspaceFiles.Failure) { return try files.read(relative, limit: limit) } catch {
            switch error {
            case .notFound: throw EngineError(.notFound, "task \(id) holds no file '\(relative)'")
            case .tooLarge: throw EngineError(.payloadTooLarge, "'\(relative)' is larger than \(limit) bytes; download output.zip")
            default: throw EngineError(.conflict, Self.describe(error))
            }
        }
    }

    /// Marks tasks left unfinished by an earlier run of the server as failed, with their archive
    /// (call once at start, before serving).
    public func recoverTasks() async -> Int {
        guard let root = configuration.tasks.directory else { return 0 }
        let rows: [TaskRow]
        do { rows = try await tasks.store.unfinishedTasks() } catch {
            logger.error("interrupted tasks could not be read", metadata: ["error": .string("\(error)")])
            return 0
        }
        var count = 0
        for row in rows where tasks.live(row.taskID) == nil {
            guard var info = try? JSONDecoder().decode(TaskInfo.self, from: row.document) else { continue }
            let now = Session.iso(Date().timeIntervalSince1970)
            info.status = .failed
            info.error = "interrupted by a server restart"
            info.finishedAt = now
            info.queuePosition = nil
            for i in info.steps.indices where info.steps[i].status == .running || info.steps[i].status == .scheduled {
                info.steps[i].status = info.steps[i].status == .running ? .failed : .skipped
                if info.steps[i].status == .failed { info.steps[i].finishedAt = now }
            }
            let directory = TaskDirectory(root: root, taskID: row.taskID, memoryLimit: configuration.tasks.memoryEntries)
            if access(directory.path, F_OK) == 0 {
                directory.log("failed: interrupted by a server restart")
                info.outputURL = directory.writeArchive() == nil ? "/v1/tasks/\(row.taskID)/output.zip" : nil
            }
            var updated = row
            updated.status = info.status.rawValue
            do {
                updated.document = try TaskManager.encoder.encode(info)
                try await tasks.store.saveTask(updated)
                count += 1
            } catch {
                logger.error("an interrupted task could not be saved", metadata: ["task_id": .string(row.taskID), "error": .string("\(error)")])
            }
        }
        return count
    }

    /// Deletes finished tasks past the retention (age, count) with their directories.
    public func pruneTasks() async -> Int {
        guard let root = configuration.tasks.directory else { return 0 }
        let settings = configuration.tasks
        let before = settings.retentionSeconds.map { Int64(((Date().timeIntervalSince1970 - $0) * 1000).rounded()) }
        guard before != nil || settings.maxKept != nil else { return 0 }
        do {
            let ids = try await tasks.store.pruneTasks(beforeMs: before, keep: settings.maxKept)
            for id in ids where tasks.live(id) == nil { TaskDirectory.remove(root: root, taskID: id) }
            return ids.count
        } catch {
            logger.error("tasks could not be pruned", metadata: ["error": .string("\(error)")])
            return 0
        }
    }
}
