import CorralRuntimes
import CorralSandbox
import Foundation

/// What `exec` gives back: the result object of a foreground command, or a background process's id.
public enum SessionExecOutcome: Sendable {
    case finished(ExecutionResponse)
    case background(ProcessStarted)
}

/// Commands, processes and code contexts in a session.
extension Engine {
    /// Largest foreground timeout and output of one command in a session.
    static let maxCommandSeconds: Double = 3600
    static let defaultCommandSeconds: Double = 30
    /// Longest a `GET .../processes/{pid}?wait=` holds its request (a long poll: ask again to wait longer).
    public static let maxProcessWaitSeconds: Double = 10

    /// `onOutput` receives a foreground command's output as it comes (a streamed exec); the result still holds all of it.
    public func exec(_ id: String, _ request: SessionExecRequest, context: ExecutionContext,
                     onOutput: (@Sendable (OutputChunk) -> Void)? = nil) async throws(EngineError) -> SessionExecOutcome {
        let session = try sessions.session(id, owner: Self.owner(context))
        let background = request.background ?? false
        var timeout = request.timeoutSeconds ?? (background ? 0 : Self.defaultCommandSeconds)
        guard timeout.isFinite, timeout >= 0, timeout <= Self.maxCommandSeconds else {
            throw EngineError(.invalidLimit, "timeout_seconds must be between 0 and \(Int(Self.maxCommandSeconds)) (0: none for a background command, the maximum for a foreground one), got \(timeout)",
                              field: "timeout_seconds")
        }
        if timeout == 0 && !background { timeout = Self.maxCommandSeconds }
        let maxOutput = request.maxOutputSize ?? configuration.defaultLimits.outputBytes
        guard maxOutput >= 1, maxOutput <= configuration.maximumLimits.outputBytes else {
            throw EngineError(.invalidLimit, "max_output_size must be between 1 and \(configuration.maximumLimits.outputBytes) bytes", field: "max_output_size")
        }
        let overrides = (request.env ?? [:]).sorted(by: { $0.key < $1.key })
        for (key, value) in overrides { try SessionManager.checkEnvironment(key, value) }
        var environment = Runtime.merge(session.environment, overrides.map { (key: $0.key, value: $0.value) })
        let argv = try command(request, session: session, environment: &environment)
        let cwd = try Self.sessionPath(request.cwd)
        var message: [String: Any] = [
            "op": "exec", "argv": argv, "env": Dictionary(environment.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 }),
            "cwd": cwd, "stdin": Data((request.stdin ?? "").utf8).base64EncodedString(), "timeout": timeout,
            "background": background, "max_output": maxOutput,
        ]
        if let pty = request.pty {
            let cols = pty.cols ?? 80, rows = pty.rows ?? 24
            guard (1...1000).contains(cols), (1...1000).contains(rows) else {
                throw EngineError(.invalidRequest, "pty.cols and pty.rows must be between 1 and 1000", field: "pty")
            }
            message["pty"] = ["cols": cols, "rows": rows]
        }
        let oomBefore = session.jail.oomKills
        var decoder: OutputDecoder?
        var listener: SessionAgent.OutputListener?
        if let onOutput, !background {
            message["stream"] = true
            let made = OutputDecoder(onOutput)
            decoder = made
            listener = { stream, bytes in made.take(stream, bytes) }
        }
        let reply = try await session.agent.call(message, deadline: background ? 30 : timeout + 30, onOutput: listener)
        decoder?.finish()
        session.touch()
        // A command that could not start (127 not found, 126 not executable) has no process: its result says so.
        let pid = reply.int("pid")
        if background, let pid { return .background(ProcessStarted(processID: pid)) }
        guard pid != nil || reply.int("exit_code") != nil else { throw EngineError(.internalError, "the session agent's reply named no process") }
        return .finished(ExecutionResponse(executionID: "\(id)-\(pid ?? 0)", result: Self.result(reply, oomBefore: oomBefore, session: session, timeout: timeout)))
    }

    /// The argv of a command: `bash -c COMMAND`, or an interpreted language's run command on the code.
    private func command(_ request: SessionExecRequest, session: Session, environment: inout [(key: String, value: String)]) throws(EngineError) -> [String] {
        // A language the catalog does not know is refused whatever it goes with (a command ignores it).
        if let name = request.language, runtime.catalog.language(named: name) == nil {
            throw EngineError(.unknownLanguage, "unknown language '\(name)'; GET /v1/languages lists them", field: "language")
        }
        switch (request.command, request.code) {
        case (let command?, nil):
            guard !command.utf8.contains(0) else { throw EngineError(.invalidRequest, "command contains a NUL byte", field: "command") }
            return ["/bin/bash", "-c", command]
        case (nil, let code?):
            let name = request.language ?? session.language
            guard let language = runtime.catalog.language(named: name) else {
                throw EngineError(.unknownLanguage, "unknown language '\(name)'; GET /v1/languages lists them", field: "language")
            }
            guard !code.utf8.contains(0) else { throw EngineError(.invalidRequest, "code contains a NUL byte", field: "code") }
            // It travels in one environment variable (the kernel takes 128 KiB at most).
            guard code.unicodeScalars.count <= 30_000 else {
                throw EngineError(.invalidRequest, "code in a session exec is at most 30,000 characters; write a larger program as a file and run it", field: "code")
            }
            for (k, v) in (language.env ?? [:]) where !environment.contains(where: { $0.key == k }) { environment.append((k, v)) }
            environment.append(("CORRAL_CODE", code))
            return SessionProgram(language: language, code: code).argv
        default:
            throw EngineError(.invalidRequest, "give exactly one of 'command' (run by /bin/bash -c) or 'code' (with 'language')", field: "command")
        }
    }

    /// A path in the session for a working directory: relative to /workspace, or absolute.
    static func sessionPath(_ path: String?) throws(EngineError) -> String {
        guard let path, !path.isEmpty else { return JailSpec.workspacePath }
        guard !path.utf8.contains(0), path.utf8.count < 4096 else { throw EngineError(.invalidRequest, "cwd is not a usable path", field: "cwd") }
        return path.hasPrefix("/") ? path : JailSpec.workspacePath + "/" + path
    }

    static func result(_ reply: [String: Any], oomBefore: Int, session: Session, timeout: Double) -> RunResult {
        let exitCode = reply.int("exit_code"), signal = reply.int("signal")
        let timedOut = reply.bool("timed_out") ?? false, outputLimit = reply.bool("output_limit") ?? false
        var status = RunStatus.success
        var limit: LimitKind?
        var message: String?
        if timedOut {
            status = .timeout; limit = .wallTime
            message = "the command ran longer than its timeout of \(SessionManager.seconds(timeout)) and was killed"
        } else if outputLimit {
            status = .outputLimit; limit = .output
        } else if signal != nil, session.jail.oomKills > oomBefore {
            status = .memoryLimit; limit = .memory
            message = "the session went over its memory limit of \(session.limits.maxMemoryMb) MB; the largest process was killed"
        } else if let signal {
            status = .killed
            message = "killed by signal \(signal)"
        } else if exitCode != 0 {
            status = .error
        }
        return RunResult(status: status, stdout: reply.base64Text("stdout"), stderr: reply.base64Text("stderr"), exitCode: exitCode,
                         signal: signal, executionTimeMs: reply.double("wall_ms") ?? 0, cpuTimeMs: reply.double("cpu_ms") ?? 0,
                         memoryUsedMb: ((reply.double("max_rss_kb") ?? 0) / 1024 * 100).rounded() / 100,
                         outputTruncated: outputLimit, errorMessage: message, limitExceeded: limit)
    }

    // MARK: - Processes

    public func sessionProcesses(_ id: String, context: ExecutionContext) async throws(EngineError) -> ProcessList {
        let session = try sessions.session(id, owner: Self.owner(context))
        let reply = try await session.agent.call(["op": "processes"], deadline: 10)
        let items = (reply["processes"] as? [[String: Any]]) ?? []
        return ProcessList(processes: items.compactMap { Self.process($0, withOutput: false) })
    }

    public func sessionProcess(_ id: String, pid: Int, wait: Double? = nil, context: ExecutionContext) async throws(EngineError) -> SessionProcess {
        let session = try sessions.session(id, owner: Self.owner(context))
        let reply: [String: Any]
        if let wait {
            guard wait.isFinite, wait >= 0, wait <= Self.maxProcessWaitSeconds else {
                throw EngineError(.invalidRequest, "wait must be between 0 and \(Int(Self.maxProcessWaitSeconds)) seconds", field: "wait")
            }
            reply = try await session.agent.call(["op": "wait", "pid": pid, "timeout": wait], deadline: wait + 10)
        } else {
            reply = try await session.agent.call(["op": "process", "pid": pid], deadline: 10)
        }
        guard let process = Self.process(reply, withOutput: true) else { throw EngineError(.internalError, "the session agent's reply was not a process") }
        return process
    }

    static func process(_ p: [String: Any], withOutput: Bool) -> SessionProcess? {
        guard let pid = p.int("pid") else { return nil }
        return SessionProcess(
            processID: pid, command: (p["argv"] as? [String]) ?? [], cwd: p.string("cwd") ?? "", status: p.string("status") ?? "unknown",
            exitCode: p.int("exit_code"), signal: p.int("signal"), background: p.bool("background") ?? false, pty: p.bool("pty") ?? false,
            startedAt: p.double("started_at") ?? 0, endedAt: p.double("ended_at"),
            stdout: withOutput ? p.base64Text("stdout") : nil, stderr: withOutput ? p.base64Text("stderr") : nil,
            outputTruncated: withOutput ? (p.bool("truncated") ?? false) : nil, timedOut: withOutput ? (p.bool("timed_out") ?? false) : nil)
    }

    /// Streams a background process's output (what it wrote so far, then as it comes) until it exits
    /// (or another attach takes it over, or `detachSessionProcess`: its status is then still
    /// `running`); returns it as it is then. What a WebSocket connected to the process shows.
    public func attachSessionProcess(_ id: String, pid: Int, context: ExecutionContext,
                                     onOutput: @escaping @Sendable (OutputChunk) -> Void) async throws(EngineError) -> SessionProcess {
        let session = try sessions.session(id, owner: Self.owner(context))
        let decoder = OutputDecoder(onOutput)
        let reply = try await session.agent.call(["op": "attach", "pid": pid], deadline: 86_400,
                                                 onOutput: { stream, bytes in decoder.take(stream, bytes) })
        decoder.finish()
        session.touch()
        guard let process = Self.process(reply, withOutput: false) else { throw EngineError(.internalError, "the session agent's reply was not a process") }
        return process
    }

    /// Ends the attach streaming a process's output (its client went away); the process runs on.
    public func detachSessionProcess(_ id: String, pid: Int, context: ExecutionContext) async throws(EngineError) {
        let session = try sessions.session(id, owner: Self.owner(context))
        _ = try await session.agent.call(["op": "detach", "pid": pid], deadline: 10)
    }

    public func sessionProcessStdin(_ id: String, pid: Int, _ request: ProcessStdinRequest, context: ExecutionContext) async throws(EngineError) {
        try await sessionProcessStdin(id, pid: pid, bytes: Array(request.data.utf8), eof: request.eof ?? false, context: context)
    }

    /// Bytes to a process's stdin as they are (a WebSocket's binary message).
    public func sessionProcessStdin(_ id: String, pid: Int, bytes: [UInt8], eof: Bool, context: ExecutionContext) async throws(EngineError) {
        let session = try sessions.session(id, owner: Self.owner(context))
        _ = try await session.agent.call(["op": "stdin", "pid": pid, "data": Data(bytes).base64EncodedString(), "eof": eof], deadline: 10)
    }

    public func sessionProcessSignal(_ id: String, pid: Int, _ request: ProcessSignalRequest, context: ExecutionContext) async throws(EngineError) {
        let session = try sessions.session(id, owner: Self.owner(context))
        guard let number = request.signal else {
            throw EngineError(.invalidRequest, "unknown signal: give a number (1-64) or a name such as SIGTERM, TERM, KILL, INT, HUP", field: "signal")
        }
        _ = try await session.agent.call(["op": "signal", "pid": pid, "signal": number], deadline: 10)
    }

    public func sessionProcessResize(_ id: String, pid: Int, _ request: ProcessResizeRequest, context: ExecutionContext) async throws(EngineError) {
        let session = try sessions.session(id, owner: Self.owner(context))
        guard (1...1000).contains(request.cols), (1...1000).contains(request.rows) else {
            throw EngineError(.invalidRequest, "cols and rows must be between 1 and 1000", field: "cols")
        }
        _ = try await session.agent.call(["op": "resize", "pid": pid, "cols": request.cols, "rows": request.rows], deadline: 10)
    }

    // MARK: - Code contexts

    static let contextLanguages = ["python", "javascript"]

    public func createContext(_ id: String, _ request: CreateContextRequest, context: ExecutionContext) async throws(EngineError) -> ContextInfo {
        let session = try sessions.session(id, owner: Self.owner(context))
        let language = try contextLanguage(request.language ?? (Self.contextLanguages.contains(session.language) ? session.language : "python"))
        let reply = try await session.agent.call(["op": "context_create", "language": language, "cwd": try Self.sessionPath(request.cwd),
                                                  "env": Dictionary(session.environment.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })],
                                                 deadline: 30)
        guard let contextID = reply.string("context_id") else { throw EngineError(.internalError, "the session agent's reply named no context") }
        return ContextInfo(contextID: contextID, language: language)
    }

    public func contexts(_ id: String, context: ExecutionContext) async throws(EngineError) -> ContextList {
        let session = try sessions.session(id, owner: Self.owner(context))
        let reply = try await session.agent.call(["op": "contexts"], deadline: 10)
        let items = (reply["contexts"] as? [[String: Any]]) ?? []
        return ContextList(contexts: items.compactMap { c in c.string("context_id").map { ContextInfo(contextID: $0, language: c.string("language") ?? "") } })
    }

    private func contextLanguage(_ name: String) throws(EngineError) -> String {
        let canonical = runtime.catalog.language(named: name)?.name ?? name
        guard Self.contextLanguages.contains(canonical) else {
            throw EngineError(.invalidRequest, "code contexts run \(Self.contextLanguages.joined(separator: " or ")), not '\(name)'", field: "language")
        }
        return canonical
    }

    public func runCode(_ id: String, _ request: RunCodeRequest, context: ExecutionContext) async throws(EngineError) -> RunCodeResult {
        let session = try sessions.session(id, owner: Self.owner(context))
        var timeout = request.timeoutSeconds ?? Self.defaultCommandSeconds
        if timeout == 0 { timeout = Self.maxCommandSeconds }
        guard timeout.isFinite, timeout >= 0, timeout <= Self.maxCommandSeconds else {
            throw EngineError(.invalidLimit, "timeout_seconds must be between 0 and \(Int(Self.maxCommandSeconds)) (0: the maximum)", field: "timeout_seconds")
        }
        guard request.code.utf8.count <= configuration.maxCodeBytes else {
            throw EngineError(.payloadTooLarge, "code is larger than \(configuration.maxCodeBytes) bytes", field: "code")
        }
        var contextID = request.contextID
        if contextID == nil {
            let language = try contextLanguage(request.language ?? (Self.contextLanguages.contains(session.language) ? session.language : "python"))
            contextID = session.defaultContexts.withLock { $0[language] }
            if contextID == nil {
                let made = try await createContext(id, CreateContextRequest(language: language), context: context).contextID
                contextID = session.defaultContexts.withLock { contexts in
                    if let existing = contexts[language] { return existing }
                    contexts[language] = made
                    return made
                }
            }
        }
        guard let contextID else { throw EngineError(.internalError, "no context") }
        let reply: [String: Any]
        do throws(EngineError) {
            reply = try await session.agent.call(["op": "run_code", "context_id": contextID, "code": request.code, "timeout": timeout],
                                                 deadline: timeout + 30)
        } catch where error.code == .notFound {
            // The session exists (its path answered); the context it names does not: a conflict with its state.
            throw EngineError(.conflict, "session \(id) holds no context '\(contextID)' (GET .../contexts lists them; POST .../contexts makes one)")
        }
        session.touch()
        var value: RunCodeResult.Value?
        if let r = reply["result"] as? [String: Any], let text = r.string("text") {
            value = RunCodeResult.Value(text: text, json: r["json"].map { JSONValue(foundation: $0) })
        }
        var cellError: RunCodeResult.CellError?
        if let e = reply["error"] as? [String: Any] {
            cellError = RunCodeResult.CellError(name: e.string("name") ?? "Error", value: e.string("value") ?? "", traceback: e.string("traceback") ?? "")
        }
        return RunCodeResult(contextID: contextID, stdout: reply.string("stdout") ?? "", stderr: reply.string("stderr") ?? "",
                             result: value, error: cellError, executionTimeMs: reply.double("wall_ms") ?? 0)
    }
}
