import CorralSandbox
import Glibc

/// Watching a session's desktop (noVNC, docs/desktop.md): x11vnc in the session's jail, on the
/// jail's own loopback, started on the first viewer; each viewer is a connection Corral makes from
/// inside the jail's network namespace, so no server of the session ever has a host port.
extension Engine {
    /// A connection to the desktop's VNC server (RFB), started if it is not running yet: a connected
    /// non-blocking descriptor the caller owns and closes.
    public func desktopViewerConnection(_ id: String, context: ExecutionContext) async throws(EngineError) -> Int32 {
        let (session, info) = try desktop(id, context: context)
        if let fd = try loopbackConnection(session, port: DesktopScripts.viewerPort, refusedIsNil: true) { return fd }
        var start = SessionExecRequest(command: DesktopScripts.startViewer(info))
        start.background = true
        _ = try await exec(session.id, start, context: session.ownerContext)
        for _ in 0..<100 {
            try? await Task.sleep(nanoseconds: 100_000_000)
            if let fd = try loopbackConnection(session, port: DesktopScripts.viewerPort, refusedIsNil: true) { return fd }
        }
        let log = (try? await desktopCommand(session, DesktopScripts.viewerLog, timeout: 5, maxOutput: 4096))?.stdout ?? ""
        throw EngineError(.internalError, "the desktop's VNC server (x11vnc) did not start within 10 s"
            + (log.isEmpty ? "" : "; it said: \(log.trimmingCharacters(in: .whitespacesAndNewlines))"))
    }

    /// Marks the session active (its idle timer starts again); false once it is gone. An open viewer
    /// or Jupyter WebSocket calls it while it lasts, so a long connection keeps its session.
    public func touchSession(_ id: String, context: ExecutionContext) -> Bool {
        guard let session = try? sessions.session(id, owner: Self.owner(context)), session.endReason == nil else { return false }
        session.touch()
        return true
    }

    /// The session's desktop, checked for a caller that may see it: 404 for a session that is not
    /// theirs, 409 without a desktop (for a signed link, checked before it is made).
    public func desktopInfo(_ id: String, context: ExecutionContext) throws(EngineError) -> DesktopInfo {
        try desktop(id, context: context).1
    }

    /// A connection to `port` on the session's loopback; nil when nothing listens there and
    /// `refusedIsNil`.
    func loopbackConnection(_ session: Session, port: UInt16, refusedIsNil: Bool) throws(EngineError) -> Int32? {
        do throws(SandboxError) {
            return try session.jail.connectLoopback(port: port)
        } catch {
            if case .system(_, let code, _) = error, code == ECONNREFUSED, refusedIsNil { return nil }
            if session.endReason != nil { throw EngineError(.gone, "the session ended: \(session.endReason ?? "")") }
            throw EngineError(.internalError, "could not reach port \(port) inside session \(session.id): \(error)")
        }
    }
}
