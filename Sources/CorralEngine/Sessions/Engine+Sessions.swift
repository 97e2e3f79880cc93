import CorralRuntimes
import CorralSandbox
import Foundation

/// Sessions as the engine offers them to every front end (HTTP now; NATS and MCP later).
extension Engine {
    static func owner(_ context: ExecutionContext) -> String { context.caller ?? "" }

    public func createSession(_ request: CreateSessionRequest, context: ExecutionContext) async throws(EngineError) -> SessionInfo {
        var plan = try sessions.plan(request, maximum: configuration.maximumLimits)
        let desktop = try Self.planDesktop(request.desktop, &plan)
        try sessions.reserve()
        let session: Session
        do throws(EngineError) { session = try await sessions.start(plan, owner: Self.owner(context)) } catch {
            sessions.register(nil)
            throw error
        }
        sessions.register(session)
        if let desktop {
            // Its display starts as the session's own command (the session is registered first).
            do throws(EngineError) { try await startDesktop(session, desktop) } catch {
                sessions.end(session, reason: "its desktop did not start")
                throw error
            }
        }
        return session.info
    }

    public func listSessions(metadata: [String: String], context: ExecutionContext) -> SessionList {
        SessionList(sessions: sessions.list(owner: Self.owner(context), metadata: metadata).map(\.info))
    }

    public func session(_ id: String, context: ExecutionContext) throws(EngineError) -> SessionInfo {
        try sessions.session(id, owner: Self.owner(context)).info
    }

    public func deleteSession(_ id: String, context: ExecutionContext) throws(EngineError) {
        try sessions.delete(id, owner: Self.owner(context))
    }

    public func setSessionTimeout(_ id: String, _ request: SessionTimeoutRequest, context: ExecutionContext) throws(EngineError) -> SessionInfo {
        let session = try sessions.session(id, owner: Self.owner(context))
        try sessions.checkTTL(request.timeoutSeconds)
        session.setTTL(request.timeoutSeconds)
        return session.info
    }
}
