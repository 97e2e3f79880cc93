import Glibc

extension Sandbox {
    /// What a session's jail is made of.
    public struct SessionSetup: Sendable {
        /// The session agent's command line, environment, host paths and the session-wide limits
        /// (memory, processes, CPU share over every process of the session; `workspaceMB` caps its disk).
        public var spec: JailSpec
        public var workspace: SessionWorkspace.Kind
        /// A name for the session's directory and cgroup (letters, digits, `-`).
        public var id: String
        /// The largest reply frame the agent may send.
        public var maxFrameBytes = 80 << 20

        public init(spec: JailSpec, workspace: SessionWorkspace.Kind, id: String) {
            self.spec = spec; self.workspace = workspace; self.id = id
        }
    }

    /// Starts a session's jail: its workspace mounted on the host and bound at `/workspace`, then the
    /// jail laid out as a one-shot run's (root, seccomp, uid drop, cgroup limits) running `spec`'s
    /// program with its stdin and stdout left open for frames.
    public func startSession(_ setup: SessionSetup, onFrame: @escaping @Sendable ([UInt8]) -> Void,
                             onEnd: @escaping @Sendable (String) -> Void) async throws(SandboxError) -> SessionJail {
        var spec = setup.spec
        try spec.limits.validate()
        guard spec.stdin.isEmpty, spec.files.isEmpty, spec.outputDirectory == nil,
              setup.id.utf8.allSatisfy({ isalnum(Int32($0)) != 0 || $0 == UInt8(ascii: "-") }), !setup.id.isEmpty else {
            throw .invalidRequest("a session takes its requests on stdin, its files through its workspace, and an id of letters, digits and '-'")
        }
        let identity = try identities.acquire()
        let workspace: SessionWorkspace
        do throws(SandboxError) {
            workspace = try SessionWorkspace(kind: setup.workspace, id: setup.id, sizeMB: spec.limits.workspaceMB,
                                             owner: identity.programHostID, serverRoot: SessionWorkspace.root + "/\(getpid())")
        } catch {
            identities.release(identity)
            throw error
        }
        spec.workspaceDirectory = workspace.mountPoint
        if case .readOnly = setup.workspace { spec.writableWorkspace = false }
        let limits = spec.limits
        // The agent and its contexts live as long as the session: the per-process CPU-time rlimit
        // (a one-shot run's backstop) would end them; CPU is bounded by the session's CPU share.
        spec.limits.cpuTimeSeconds = 7 * 86_400
        var layout = JailLayout(stagingRoot: configuration.stagingRoot, programID: JailIdentity.programID, seccompProgram: seccompProgram)
        layout.rlimitFallback = cgroups.isUnavailable
        let encoded: SpecEncoder
        do throws(SandboxError) { encoded = try layout.encode(spec) } catch {
            workspace.remove()
            identities.release(identity)
            throw error
        }
        let spawner = try ServiceSpawner.shared()
        let hierarchy = cgroups, identities = self.identities
        let name = "\(getpid())-\(setup.id)"  // JailCgroup.removeStale reads its owner pid before the first dash
        let stub: JailStub
        var network: SlirpNetwork?
        do throws(SandboxError) {
            stub = try await spawner.run { () throws(SandboxError) -> JailStub in
                try JailStub.spawn(hierarchy: hierarchy, identities: identities, name: name, acquired: identity)
            }
        } catch {
            workspace.remove()
            throw error
        }
        do throws(SandboxError) {
            if spec.network {
                network = try await Self.onOwnThread { () throws(SandboxError) in try SlirpNetwork.start(jailPID: stub.pid) }
            }
            try await spawner.run { () throws(SandboxError) in try stub.startProgram(encoded, limits: limits) }
        } catch {
            _ = network?.stop()
            stub.destroy()
            workspace.remove()
            throw error
        }
        startedCount.withLock { $0 += 1 }
        do throws(SandboxError) {
            return try SessionJail(stub: stub, workspace: workspace, network: network, maxFrameBytes: setup.maxFrameBytes,
                                   onFrame: onFrame, onEnd: onEnd)
        } catch {
            _ = network?.stop()
            stub.destroy()
            workspace.remove()
            throw error
        }
    }

    /// Removes the session directories that servers killed before they could clean up left behind.
    public static func removeStaleSessions() { SessionWorkspace.removeStale() }
}
