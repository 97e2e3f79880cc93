import CorralSandbox
import Foundation

/// Running one task: its session, its steps in order, its directory and archive at the end.
extension Engine {
    private static var now: String { Session.iso(Date().timeIntervalSince1970) }

    func runTask(_ task: LiveTask) async {
        // Cancelled between leaving the queue and starting: it ends here, having run nothing.
        guard !task.isCancelled else {
            await finishTask(task, status: .cancelled, error: "cancelled before it started", workspace: nil)
            return
        }
        task.update { $0.status = .running; $0.startedAt = Self.now }
        task.directory.log("started")
        task.events.append("task_started", task.info)
        await tasks.save(task)

        var failure: String?
        var session: Session?
        do throws(EngineError) {
            let shape = try task.request.task == nil ? nil : configuration.codeAgent.map { agent throws(EngineError) in try agentSessionShape(agent, task.request) }
            var plan = try sessions.plan(Self.sessionRequest(task.request, agent: shape), maximum: configuration.maximumLimits)
            let desktop = try Self.planDesktop(task.request.desktopSettings, &plan)
            try sessions.reserve(forTask: true)
            do throws(EngineError) {
                let started = try await sessions.start(plan, owner: TaskManager.sessionOwner)
                sessions.register(started)
                session = started
            } catch {
                sessions.register(nil)
                throw error
            }
            // The display (for gui and screenshot steps): failing to start, the task fails (finishTask ends the session).
            if let desktop, let session { try await startDesktop(session, desktop) }
        } catch {
            failure = "the task's session could not start: \(error.message)"
        }
        if let session {
            // Never idle-reaped: its steps' timeouts bound it, and it ends with the task.
            session.setTTL(Self.taskSessionTTL)
            if !task.attach(session) { sessions.end(session, reason: "its task was cancelled") }
        }

        let steps = task.info.steps
        let defaultTimeout = task.request.timeoutSeconds ?? configuration.tasks.defaultStepSeconds
        for step in steps {
            if task.isCancelled {
                task.update { $0.steps[step.index].status = .cancelled }
                continue
            }
            guard failure == nil, let session else {
                task.update { $0.steps[step.index].status = .skipped }
                continue
            }
            task.update { $0.steps[step.index].status = .running; $0.steps[step.index].startedAt = Self.now }
            task.directory.log("step \(step.index + 1)/\(steps.count) started: \(Self.summary(step.input))")
            task.events.append("step_started", StepEvent(step: step.index, tool: step.tool, name: step.name))
            await tasks.saveSoon(task)

            // The task's steps share an output budget: this one may write what is left of it.
            let outputLeft = max(1, min(configuration.defaultLimits.outputBytes, configuration.tasks.maxOutputBytes - task.outputBytes))
            let result = await runStep(step, in: session, task: task, timeout: step.input.timeoutSeconds ?? defaultTimeout,
                                       maxOutput: outputLeft)
            let cancelled = task.isCancelled
            let status: TaskStepStatus = cancelled ? .cancelled : result.result.status == .success ? .completed : .failed
            let finished = task.update { info -> TaskStepInfo in
                info.steps[step.index].status = status
                info.steps[step.index].finishedAt = Self.now
                info.steps[step.index].result = result
                return info.steps[step.index]
            }
            task.directory.remember(finished)
            task.directory.log("step \(step.index + 1)/\(steps.count) \(status.rawValue): \(result.result.status.rawValue)"
                + (result.result.exitCode.map { ", exit code \($0)" } ?? "") + (result.result.errorMessage.map { ", \($0)" } ?? ""))
            task.events.append("step_finished", StepEvent(step: step.index, tool: step.tool, name: step.name, status: status, result: result))
            await tasks.saveSoon(task)
            if status == .failed, !task.info.continueOnError {
                failure = "step \(step.index + 1) (\(step.tool)) failed: \(result.result.errorMessage ?? result.result.status.rawValue)"
            }
        }

        let finalStatus: TaskStatus = task.isCancelled ? .cancelled : failure == nil ? .completed : .failed
        let error = finalStatus == .cancelled ? "cancelled" : failure
        await finishTask(task, status: finalStatus, error: error, workspace: session)
    }

    /// Ends a task: its files are collected, its session ends, its archive is written, its state saved.
    func finishTask(_ task: LiveTask, status: TaskStatus, error: String?, workspace session: Session?) async {
        let live = session.flatMap { $0.endReason == nil ? $0 : nil }
        let copied = task.directory.copy(from: live?.files, maxBytes: live.map { $0.limits.diskMb << 20 })
        if let copied { task.directory.log(copied) }
        if let session {
            sessions.end(session, reason: "its task ended")
            // A task reads as finished only once none of its processes is left (a cancelled step's
            // included): the kernel takes a moment to take down the session's PID namespace.
            if await !session.jail.waitUntilNoProcesses(seconds: 10) {
                task.directory.log("some of the task's processes were still alive 10 s after its session ended")
                logger.warning("task processes outlived their session", metadata: ["task_id": "\(task.id)"])
            }
        }
        _ = task.attach(nil)
        task.directory.log(status.rawValue + (error.map { ": \($0)" } ?? ""))
        let archived = task.directory.writeArchive()
        let info = task.update { info -> TaskInfo in
            info.status = status
            info.error = error
            // What could not be archived is an error of the task; what was left out is in its log.
            if let archived { info.error = (error.map { $0 + "; " } ?? "") + archived }
            for i in info.steps.indices where info.steps[i].status == .scheduled { info.steps[i].status = status == .cancelled ? .cancelled : .skipped }
            info.finishedAt = Self.now
            info.queuePosition = nil
            info.outputURL = archived == nil ? "/v1/tasks/\(task.id)/output.zip" : nil
            return info
        }
        await tasks.save(task)
        task.events.append("task_finished", info)
        task.events.finish()
        // Delivered on its own: retries must hold neither a task worker nor a cancel request.
        if let url = task.request.callbackURL { Task.detached { await self.callBack(task, url: url, info: info) } }
    }

    /// Delivers the final task object to its callback (blocking tries on a thread of their own),
    /// then records how it went.
    private func callBack(_ task: LiveTask, url: String, info: TaskInfo) async {
        let settings = configuration.tasks
        guard let target = try? TaskCallback.target(url, allowed: settings.allowedCallbackHosts) else { return }
        // Each delivery is a thread holding the encoded task for up to about 65 s: a receiver that is
        // down must not have every finished (or cancelled) task add one.
        guard tasks.startCallback() else {
            let record = TaskCallback(url: url, status: "failed", attempts: 0,
                                      lastError: "not sent: \(settings.maxPendingCallbacks) callbacks were already being delivered")
            task.directory.log("callback to \(url): \(record.status) (\(record.lastError ?? ""))")
            task.update { $0.callback = record }
            await tasks.save(task)
            return
        }
        defer { tasks.endCallback() }
        guard let body = try? TaskManager.encoder.encode(info) else { return }
        let record: TaskCallback = await withCheckedContinuation { continuation in
            Thread {
                continuation.resume(returning: TaskCallback.deliver(body, to: target, url: url, attempts: settings.callbackAttempts,
                                                                   backoff: settings.callbackBackoffSeconds))
            }.start()
        }
        task.directory.log("callback to \(url): \(record.status) after \(record.attempts) attempt(s)" + (record.lastError.map { " (\($0))" } ?? ""))
        task.update { $0.callback = record }
        await tasks.save(task)
    }

    /// A task session's idle timeout: it is never reaped while its task runs (ten years).
    static let taskSessionTTL: Double = 10 * 365 * 86_400

    /// One line of `agent.log` for a step's input.
    static func summary(_ step: TaskStepRequest) -> String {
        let text: String
        switch step.tool {
        case "shell": text = step.command ?? ""
        case "write_file": text = "\(step.path ?? "") (\((step.content ?? "").utf8.count) bytes)"
        case "read_file": text = step.path ?? ""
        case "gui": text = (step.actions ?? []).map(\.type).joined(separator: ", ")
        case "screenshot": text = ""
        default: text = "\(step.codeLanguage ?? "") code (\((step.code ?? "").utf8.count) bytes)"
        }
        let clipped = text.count > 200 ? String(text.prefix(200)) + "…" : text
        return clipped.isEmpty ? step.tool : "\(step.tool) \(clipped)"
    }

    /// Runs a step; whatever goes wrong is its result (a step never throws).
    private func runStep(_ step: TaskStepInfo, in session: Session, task: LiveTask, timeout: Double, maxOutput: Int) async -> StepResult {
        let context = ExecutionContext(caller: TaskManager.sessionOwner)
        let id = "\(task.id)-\(step.index)"
        let started = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6 }
        let input = step.input
        do throws(EngineError) {
            switch input.tool {
            case Self.agentTool:
                return await runAgentStep(input.content ?? "", task: task, session: session, id: id, context: context, maxOutput: maxOutput)
            case "gui", "screenshot":
                return await runDesktopStep(input, index: step.index, in: session, task: task, id: id, context: context)
            case "write_file":
                let path = try Self.taskPath(input.path)
                do throws(WorkspaceFiles.Failure) { try session.files.write(path, Array((input.content ?? "").utf8)) } catch {
                    return StepResult(executionID: id, result: RunResult(status: .error, executionTimeMs: elapsed(),
                                                                         errorMessage: "cannot write \(path): \(Self.describe(error))"))
                }
                return StepResult(executionID: id, result: RunResult(status: .success, exitCode: 0, executionTimeMs: elapsed()))
            case "read_file":
                let path = try Self.taskPath(input.path)
                let limit = maxOutput
                do throws(WorkspaceFiles.Failure) {
                    let bytes = try session.files.read(path, limit: limit)
                    return StepResult(executionID: id, result: RunResult(status: .success, stdout: String(decoding: bytes, as: UTF8.self), exitCode: 0,
                                                                         executionTimeMs: elapsed()))
                } catch {
                    return StepResult(executionID: id, result: RunResult(status: .error, executionTimeMs: elapsed(),
                                                                         errorMessage: "cannot read \(path): \(Self.describe(error))"))
                }
            default:
                var request = SessionExecRequest(command: input.command ?? "")
                if input.tool != "shell" {
                    request.command = nil
                    request.code = input.code
                    request.language = input.codeLanguage
                }
                request.timeoutSeconds = timeout
                request.maxOutputSize = maxOutput
                let events = task.events, index = step.index
                let outcome = try await exec(session.id, request, context: context) { chunk in
                    events.append("output", OutputEvent(step: index, stream: chunk.stream, text: chunk.text))
                }
                guard case .finished(let response) = outcome else {
                    return StepResult(executionID: id, result: .internalError("the step started in the background"))
                }
                return StepResult(executionID: id, result: response.result)
            }
        } catch {
            if task.isCancelled {
                return StepResult(executionID: id, result: RunResult(status: .killed, executionTimeMs: elapsed(), errorMessage: "the task was cancelled"))
            }
            return StepResult(executionID: id, result: RunResult(status: .internalError, executionTimeMs: elapsed(), errorMessage: error.message))
        }
    }

    /// A task in words: the code agent works in the task's session; its answer is the step's
    /// stdout, its transcript `agent_transcript.json` in the task's directory.
    private func runAgentStep(_ text: String, task: LiveTask, session: Session, id: String, context: ExecutionContext,
                              maxOutput: Int) async -> StepResult {
        guard let agent = configuration.codeAgent else {
            return StepResult(executionID: id, result: RunResult(status: .error, errorMessage: "this server has no code agent (--llm-url)"))
        }
        let started = DispatchTime.now().uptimeNanoseconds
        let events = task.events, directory = task.directory
        // The whole run is bounded by the task's timeout_seconds, else the longest a step may take.
        let deadline = task.request.timeoutSeconds ?? configuration.tasks.maxStepSeconds
        let outcome = await agent.run(task: text, options: task.request.agentOptions, engine: self, sessionID: session.id, context: context,
                                      deadlineSeconds: deadline, isCancelled: { task.isCancelled }) { line in
            directory.log("agent: " + line)
            events.append("output", OutputEvent(step: 0, stream: "stdout", text: line + "\n"))
        }
        directory.writeFile("agent_transcript.json", outcome.transcript)
        let ms = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
        // The answer is the step's output: it takes from the task's output budget as a program's would.
        let answer = outcome.answer ?? ""
        let kept = PlainText.prefix(answer, maxBytes: maxOutput)
        var result = RunResult(status: outcome.error == nil ? .success : .error, stdout: kept ?? answer, exitCode: outcome.error == nil ? 0 : nil,
                               executionTimeMs: ms, outputTruncated: kept != nil, errorMessage: outcome.error)
        result.stderr = "agent: \(outcome.steps) step(s), \(outcome.tokens) token(s)"
        return StepResult(executionID: id, result: result)
    }

    static func taskPath(_ path: String?) throws(EngineError) -> String {
        do throws(WorkspaceFiles.Failure) { return try WorkspaceFiles.normalise(path ?? "") } catch {
            throw EngineError(.invalidRequest, describe(error))
        }
    }
}
