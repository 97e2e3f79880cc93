import CorralSandbox
import Foundation

/// Jupyter on demand (docs/desktop.md#jupyter): started in the session as its user, reached only
/// through Corral's proxy, which adds Jupyter's token.
extension Engine {
    /// Starts the session's Jupyter server and waits until it answers (60 s at most); a second call
    /// answers with the one running.
    public func startJupyter(_ id: String, context: ExecutionContext) async throws(EngineError) -> JupyterReport {
        let session = try sessions.session(id, owner: Self.owner(context))
        let basePath = "/v1/sessions/\(session.id)/jupyter/"
        let state = session.jupyter.withLock { state -> JupyterState in
            defer { if state == .stopped { state = .starting } }
            return state
        }
        switch state {
        case .running(let server): return JupyterReport(url: server.basePath + "tree", processID: server.processID, started: false)
        case .starting: throw EngineError(.conflict, "Jupyter is starting in session \(id): ask again in a few seconds")
        case .stopped: break
        }
        do throws(EngineError) {
            let server = try await launchJupyter(session, basePath: basePath)
            session.jupyter.withLock { $0 = .running(server) }
            return JupyterReport(url: basePath + "tree", processID: server.processID, started: true)
        } catch {
            session.jupyter.withLock { $0 = .stopped }
            throw error
        }
    }

    private func launchJupyter(_ session: Session, basePath: String) async throws(EngineError) -> JupyterServer {
        var bytes = [UInt8](repeating: 0, count: 24)
        var generator = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = generator.next() }
        let token = bytes.map { String(format: "%02x", $0) }.joined()
        var start = SessionExecRequest(command: JupyterScripts.start(token: token, basePath: basePath, port: JupyterServer.port))
        start.background = true
        let started: ProcessStarted
        switch try await exec(session.id, start, context: session.ownerContext) {
        case .background(let process): started = process
        case .finished(let response):
            // The session could not start a process (at its process limit: the fork failed): the
            // session's state, not the server's failure.
            let why = response.result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            throw EngineError(.conflict, "Jupyter could not be started in session \(session.id): "
                + (why.isEmpty ? "its start command ended at once" : String(why.suffix(300)))
                + " (exit code \(response.result.exitCode.map(String.init) ?? "none")); end some of the session's processes and retry")
        }
        let server = JupyterServer(token: token, basePath: basePath, processID: started.processID)
        for _ in 0..<300 {
            try? await Task.sleep(nanoseconds: 200_000_000)
            if let fd = try loopbackConnection(session, port: server.port, refusedIsNil: true) {
                close(fd)
                return server
            }
            let process = try await sessionProcess(session.id, pid: server.processID, context: session.ownerContext)
            if process.status != "running" { throw try await jupyterFailed(session, "exited (exit code \(process.exitCode.map(String.init) ?? "none"))") }
        }
        _ = try? await sessionProcessSignal(session.id, pid: server.processID, ProcessSignalRequest(number: 9, name: nil), context: session.ownerContext)
        throw try await jupyterFailed(session, "did not answer within 60 s")
    }

    private func jupyterFailed(_ session: Session, _ what: String) async throws(EngineError) -> EngineError {
        let log = (try? await desktopCommand(session, JupyterScripts.log, timeout: 5, maxOutput: 4096))?.stdout ?? ""
        let tail = log.trimmingCharacters(in: .whitespacesAndNewlines)
        return EngineError(.internalError, "Jupyter (python3 -m notebook) \(what) in session \(session.id)"
            + (tail.isEmpty ? "; it wrote nothing (is python3-notebook installed? scripts/bootstrap installs it)" : "; its stderr ends: \(tail)"))
    }

    /// The session's running Jupyter server and a connection to it (the caller closes the descriptor).
    /// The session's running Jupyter server, checked for the caller (a WebSocket's upgrade check:
    /// no connection is made before the upgrade, so a client that leaves in between leaks none).
    public func jupyterServer(_ id: String, context: ExecutionContext) throws(EngineError) -> JupyterServer {
        let session = try sessions.session(id, owner: Self.owner(context))
        guard case .running(let server) = session.jupyter.withLock({ $0 }) else {
            throw EngineError(.conflict, "session \(id) has no Jupyter server running: POST /v1/sessions/\(id)/jupyter starts it")
        }
        return server
    }

    public func jupyterConnection(_ id: String, context: ExecutionContext) throws(EngineError) -> (server: JupyterServer, fd: Int32) {
        let session = try sessions.session(id, owner: Self.owner(context))
        guard case .running(let server) = session.jupyter.withLock({ $0 }) else {
            throw EngineError(.conflict, "session \(id) has no Jupyter server running: POST /v1/sessions/\(id)/jupyter starts it")
        }
        session.touch()
        guard let fd = try loopbackConnection(session, port: server.port, refusedIsNil: true) else {
            session.jupyter.withLock { $0 = .stopped }
            throw EngineError(.conflict, "session \(id)'s Jupyter server has stopped: POST /v1/sessions/\(id)/jupyter starts it again")
        }
        return (server, fd)
    }
}
