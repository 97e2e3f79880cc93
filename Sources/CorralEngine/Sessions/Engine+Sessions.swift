import CorralRuntimes
import CorralSandbox
import Foundation

/// Sessions as the engine offers them to every front end (HTTP now; NATS and MCP later).
extension Engine {
    static func owner(_ context: ExecutionContext) -> String { context.caller ?? "" }

    public func createSession(_ request: CreateSessionRequest, context: ExecutionContext) async throws(EngineError) -> SessionInfo {
        let plan = try sessions.plan(request, maximum: configuration.maximumLimits)
        try sessions.reserve()
        do throws(EngineError) {
            let session = try await sessions.start(plan, owner: Self.owner(context))
            sessions.register(session)
            return session.info
        } catch {
            sessions.register(nil)
            throw error
        }
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
