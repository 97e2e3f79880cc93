import CorralRuntimes
import CorralSandbox
import Foundation
import Synchronization

/// Every live session of the engine: creation (limits, mounts under the allowed roots), lookup by
/// id for its owner only, the idle reaper, and the end of them all at shutdown.
public final class SessionManager: Sendable {
    public let settings: SessionSettings
    let runtime: Runtime
    struct State {
        var sessions: [String: Session] = [:]
        /// Sessions being created (they count against `maxSessions`).
        var creating = 0
        /// Sessions that expired or ended: when and why, to answer 410 rather than 404.
        var gone: [String: (owner: String, at: Double, reason: String)] = [:]
        var closed = false
        /// Started sessions waiting for a create (`SessionSettings.warmSessions`), and how many are starting.
        var warm: [Launched] = []
        var warming = 0
    }
    let state = Mutex(State())
    private let reaper = Mutex<Task<Void, Never>?>(nil)

    init(settings: SessionSettings, runtime: Runtime) {
        self.settings = settings
        self.runtime = runtime
    }

    /// Starts the idle reaper (on first session).
    private func startReaper() {
        reaper.withLock { task in
            guard task == nil else { return }
            task = Task { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(nanoseconds: 100_000_000)
                    self?.reap()
                }
            }
        }
    }

    public var count: Int { state.withLock { $0.sessions.count } }

    /// Ends sessions idle past their TTL or whose jail died, remembering when.
    func reap() {
        let now = SessionWorkspace.now()
        let expired = state.withLock { s -> [(Session, String)] in
            var out: [(Session, String)] = []
            for (id, session) in s.sessions {
                if session.expiresAt <= now {
                    out.append((session, "it was idle past its timeout of \(Self.seconds(session.ttl))"))
                } else if let reason = session.endReason {
                    out.append((session, reason))
                } else { continue }
                s.sessions[id] = nil
                s.gone[id] = (session.owner, now, out[out.count - 1].1)
            }
            s.gone = s.gone.filter { now - $0.value.at < settings.rememberExpiredSeconds }
            return out
        }
        // Teardown blocks (kill, reap, unmount, cgroup removal: up to seconds on cgroup v1): off the
        // caller's thread, which may be one of the two of the cooperative pool every request needs.
        for (session, _) in expired {
            session.jail.kill()
            Thread { session.destroy() }.start()
        }
    }

    /// The session `id` if `owner` may use it; a call on it restarts its idle clock.
    func session(_ id: String, owner: String) throws(EngineError) -> Session {
        let found = state.withLock { s -> (Session?, (owner: String, at: Double, reason: String)?) in (s.sessions[id], s.gone[id]) }
        if let session = found.0, session.owner == owner {
            if let reason = session.endReason {
                reap()
                throw EngineError(.gone, "session \(id) ended: \(reason); create a new one")
            }
            session.touch()
            return session
        }
        if let gone = found.1, gone.owner == owner {
            throw EngineError(.gone, "session \(id) ended at \(Session.iso(gone.at)): \(gone.reason); create a new one")
        }
        throw EngineError(.notFound, "no session \(id) (GET /v1/sessions lists yours)")
    }

    func list(owner: String, metadata: [String: String]) -> [Session] {
        state.withLock { s in Array(s.sessions.values) }
            .filter { session in session.owner == owner && metadata.allSatisfy { session.metadata[$0.key] == $0.value } }
            .sorted { $0.createdAt < $1.createdAt }
    }

    func delete(_ id: String, owner: String) throws(EngineError) {
        let session = try self.session(id, owner: owner)
        state.withLock { s in
            s.sessions[id] = nil
            s.gone[id] = (owner, SessionWorkspace.now(), "it was deleted")
        }
        session.destroy()
    }

    /// Ends `session` now, whoever owns it (a task's session when the task ends): it takes no more
    /// calls at once; the teardown (its processes killed, unmount, cgroup removal: tens of ms on
    /// cgroup v1) runs on a thread of its own, so the caller (a task's end) does not wait for it.
    func end(_ session: Session, reason: String) {
        state.withLock { s in
            if s.sessions[session.id] === session { s.sessions[session.id] = nil }
            s.gone[session.id] = (session.owner, SessionWorkspace.now(), reason)
        }
        session.agent.ended(reason)
        Thread { session.destroy() }.start()
    }

    /// Reserves a place for a new session, or refuses beyond `maxSessions`. A task's session
    /// (`forTask`) is bounded by the task workers instead, so callers' sessions and tasks never starve each other.
    func reserve(forTask: Bool = false) throws(EngineError) {
        try state.withLock { (s: inout State) throws(EngineError) in
            guard !s.closed else { throw EngineError(.shuttingDown, "the server is shutting down; no new sessions") }
            guard forTask || s.sessions.count(where: { $0.value.owner != TaskManager.sessionOwner }) + s.creating < settings.maxSessions else {
                throw EngineError(.limitReached, "the server holds its maximum of \(settings.maxSessions) sessions (--max-sessions); "
                    + "delete one you no longer need or retry later", retryAfterSeconds: 5)
            }
            s.creating += 1
        }
    }

    func register(_ session: Session?) {
        state.withLock { s in
            s.creating -= 1
            if let session { s.sessions[session.id] = session }
        }
        if session != nil { startReaper() }
    }

    /// Ends every session (server shutdown).
    public func shutdown() {
        let (all, warm) = state.withLock { s -> ([Session], [Launched]) in
            s.closed = true
            defer { s.sessions = [:]; s.warm = [] }
            return (Array(s.sessions.values), s.warm)
        }
        reaper.withLock { $0?.cancel() }
        for session in all { session.destroy() }
        for launched in warm { launched.jail.destroy() }
    }

    static func seconds(_ s: Double) -> String { s == s.rounded() ? "\(Int(s)) s" : String(format: "%.1f s", s) }
}
