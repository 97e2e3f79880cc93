import CorralRuntimes
import CorralSandbox
import Foundation
import Synchronization

/// One live session: its jail (running the session agent), its workspace, its idle clock.
public final class Session: Sendable {
    public let id: String
    /// The API key name that created it; only that caller sees it.
    public let owner: String
    public let language: String
    public let createdAt: Double
    public let limits: SessionInfo.Limits
    public let allowNetwork: Bool
    public let mount: CreateSessionRequest.Mount?
    public let metadata: [String: String]
    let environment: [(key: String, value: String)]
    let jail: SessionJail
    let agent: SessionAgent
    public let files: WorkspaceFiles
    /// For a shadow mount: the changes, diff and apply.
    public let shadow: ShadowChanges?
    private let clock: Mutex<(lastActive: Double, ttl: Double)>
    /// Contexts by language made on first `run_code` without a `context_id`.
    let defaultContexts = Mutex<[String: String]>([:])
    /// Its display, once started (`desktop` at creation).
    let desktop = Mutex<DesktopInfo?>(nil)
    /// Its Jupyter server, once `POST .../jupyter` started it.
    let jupyter = Mutex<JupyterState>(.stopped)

    /// The context its owner's calls carry (the engine's own calls on its behalf).
    var ownerContext: ExecutionContext { ExecutionContext(caller: owner) }

    init(id: String, owner: String, language: String, limits: SessionInfo.Limits, allowNetwork: Bool,
         mount: CreateSessionRequest.Mount?, metadata: [String: String], environment: [(key: String, value: String)],
         ttl: Double, jail: SessionJail, agent: SessionAgent) {
        self.id = id; self.owner = owner; self.language = language; self.limits = limits
        self.allowNetwork = allowNetwork; self.mount = mount; self.metadata = metadata
        self.environment = environment; self.jail = jail; self.agent = agent
        createdAt = SessionWorkspace.now()
        files = WorkspaceFiles(root: jail.workspace.mountPoint, owner: jail.workspace.ownerHostID)
        if let upper = jail.workspace.upperDirectory, let host = jail.workspace.hostPath {
            shadow = ShadowChanges(upper: upper, host: host, since: jail.workspace.createdAt, lower: jail.workspace.lowerDirectory,
                                   maxBytes: limits.diskMb << 20)
        } else {
            shadow = nil
        }
        clock = Mutex((SessionWorkspace.now(), ttl))
    }

    public var expiresAt: Double { clock.withLock { $0.lastActive + $0.ttl } }
    public var ttl: Double { clock.withLock { $0.ttl } }
    public var endReason: String? { agent.endReason ?? jail.endReason }

    /// A call on the session: its idle clock starts again.
    func touch() { clock.withLock { $0.lastActive = SessionWorkspace.now() } }

    func setTTL(_ seconds: Double) { clock.withLock { $0 = (SessionWorkspace.now(), seconds) } }

    public var info: SessionInfo {
        let ended = endReason
        return SessionInfo(
            sessionID: id, status: ended == nil ? "running" : "ended", language: language,
            createdAt: Self.iso(createdAt), expiresAt: Self.iso(expiresAt), timeoutSeconds: ttl,
            allowNetwork: allowNetwork, limits: limits, mount: mount, metadata: metadata,
            memoryUsedMb: jail.memoryBytes.map { (Double($0) / 1_048_576 * 100).rounded() / 100 }, endReason: ended,
            desktop: desktop.withLock { $0 })
    }

    static func iso(_ seconds: Double) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date(timeIntervalSince1970: seconds))
    }

    /// Ends the session: every process dies, the workspace is unmounted and removed.
    func destroy() {
        agent.ended("the session was deleted")
        jail.destroy()
    }
}
