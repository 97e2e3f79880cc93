import CorralSandbox
import Foundation

/// `POST /v1/sessions/{id}/fork`: a new session like this one (language, limits, network,
/// environment, mount) whose workspace starts as this one's is now. Processes are not copied.
extension Engine {
    public func forkSession(_ id: String, _ request: ForkSessionRequest, context: ExecutionContext) async throws(EngineError) -> SessionInfo {
        let source = try sessions.session(id, owner: Self.owner(context))
        var create = CreateSessionRequest()
        create.language = source.language
        create.maxMemoryMb = source.limits.maxMemoryMb
        create.processes = source.limits.processes
        create.cpuPercent = source.limits.cpuPercent
        create.diskMb = source.limits.diskMb
        create.allowNetwork = source.allowNetwork
        create.timeoutSeconds = request.timeoutSeconds ?? source.ttl
        create.metadata = request.metadata ?? source.metadata
        create.mount = source.mount
        var plan = try sessions.plan(create, maximum: configuration.maximumLimits)
        plan.environment = source.environment
        try sessions.reserve()
        let fork: Session
        do throws(EngineError) {
            fork = try await sessions.start(plan, owner: Self.owner(context))
        } catch {
            sessions.register(nil)
            throw error
        }
        do throws(EngineError) {
            try Self.copyWorkspace(from: source, to: fork)
        } catch {
            sessions.register(nil)
            fork.destroy()
            throw error
        }
        sessions.register(fork)
        source.touch()
        return fork.info
    }

    /// A scratch workspace is copied whole (symlinks as symlinks); over a host mount, the fork
    /// mounts the same directory and gets the source's changes replayed (a readonly one has none).
    static func copyWorkspace(from source: Session, to fork: Session) throws(EngineError) {
        guard let shadow = source.shadow else {
            guard source.mount == nil else { return }
            let report = WorkspaceCopy.copy(source.files, to: fork.files.root, maxEntries: 1_000_000,
                                            maxBytes: source.limits.diskMb << 20, owner: fork.files.owner, symlinks: true)
            guard report.skipped.isEmpty else {
                let shown = report.skipped.prefix(10).map { $0.utf8.count > 200 ? String($0.prefix(200)) + "…" : $0 }
                throw EngineError(.conflict, "the workspace could not be copied whole (left out: \(shown.joined(separator: ", "))); "
                    + "special files (FIFOs, sockets) and directories more than \(WorkspaceFiles.maxDepth) levels deep cannot be forked: "
                    + "remove them and fork again")
            }
            return
        }
        let changes: [ShadowChanges.Change]
        do throws(ShadowChanges.Failure) { changes = try shadow.changes() } catch { throw engineError(error) }
        do throws(WorkspaceFiles.Failure) {
            for change in changes.sorted(by: { $0.path < $1.path }) {
                switch (change.kind, change.type) {
                case (.deleted, _):
                    try? fork.files.remove(change.path)
                case (_, .file):
                    try fork.files.write(change.path, try source.files.read(change.path, limit: source.limits.diskMb << 20))
                case (_, .directory):
                    try fork.files.makeDirectory(change.path)
                default:
                    throw WorkspaceFiles.Failure.invalidPath("'\(change.path)' is a symlink or a special file the fork cannot replay")
                }
            }
        } catch {
            throw SessionManager.engineError(error)
        }
    }
}

/// `POST /v1/sessions/{id}/fork` (every field optional: the source's by default).
public struct ForkSessionRequest: Sendable, Codable, KnownFields {
    public var timeoutSeconds: Double?
    public var metadata: [String: String]?
    public init() {}
    enum CodingKeys: String, CodingKey, CaseIterable {
        case metadata
        case timeoutSeconds = "timeout_seconds"
    }
    public static let fieldNames = Set(CodingKeys.allCases.map(\.rawValue))
}
