import CorralRuntimes
import CorralSandbox
import Foundation

/// A create request checked against the settings, ready to start.
struct SessionPlan: Sendable {
    var language: Language
    var limits: ResourceLimits
    var ttl: Double
    var allowNetwork: Bool
    var environment: [(key: String, value: String)]
    var files: [(path: String, contents: [UInt8])]
    var workspace: SessionWorkspace.Kind
    var mount: CreateSessionRequest.Mount?
    var metadata: [String: String]
    var reported: SessionInfo.Limits
}

extension SessionManager {
    func checkTTL(_ seconds: Double) throws(EngineError) {
        guard seconds.isFinite, seconds >= 1, seconds <= settings.maxTTLSeconds else {
            throw EngineError(.invalidLimit, "timeout_seconds must be between 1 and \(Self.seconds(settings.maxTTLSeconds)) (the server's maximum), got \(seconds)",
                              field: "timeout_seconds")
        }
    }

    func plan(_ request: CreateSessionRequest, maximum: ResourceLimits) throws(EngineError) -> SessionPlan {
        let name = request.language ?? "python"
        guard let language = runtime.catalog.language(named: name) else {
            throw EngineError(.unknownLanguage, "unknown language '\(name)'; GET /v1/languages lists them", field: "language")
        }
        var limits = ResourceLimits()
        limits.timeoutSeconds = maximum.timeoutSeconds
        limits.memoryMB = request.maxMemoryMb ?? min(settings.defaultMemoryMB, maximum.memoryMB)
        limits.processes = request.processes ?? min(settings.defaultProcesses, maximum.processes)
        limits.cpuPercent = request.cpuPercent
        limits.workspaceMB = request.diskMb ?? min(settings.defaultDiskMB, maximum.workspaceMB)
        limits.tmpMB = min(limits.workspaceMB, maximum.tmpMB)
        limits.fileSizeMB = min(limits.workspaceMB, maximum.fileSizeMB)
        limits.openFiles = min(1024, maximum.openFiles)
        do throws(SandboxError) { try limits.validate(against: maximum) } catch {
            var e = EngineError(error)
            if e.field == "workspace_mb" { e.field = "disk_mb"; e.message = e.message.replacingOccurrences(of: "workspace_mb", with: "disk_mb") }
            throw e
        }
        if limits.memoryMB < SessionSettings.minimumMemoryMB || limits.processes < SessionSettings.minimumProcesses {
            let memory = limits.memoryMB < SessionSettings.minimumMemoryMB
            throw EngineError(.invalidLimit, memory
                ? "max_memory_mb of a session is at least \(SessionSettings.minimumMemoryMB) (its agent runs in it), got \(limits.memoryMB)"
                : "processes of a session is at least \(SessionSettings.minimumProcesses) (its agent's threads count), got \(limits.processes)",
                field: memory ? "max_memory_mb" : "processes")
        }
        if limits.effectiveCPUPercent < SessionSettings.minimumCPUPercent {
            throw EngineError(.invalidLimit, "cpu_percent of a session is at least \(SessionSettings.minimumCPUPercent), got \(limits.effectiveCPUPercent)",
                              field: "cpu_percent")
        }
        let ttl = request.timeoutSeconds ?? settings.defaultTTLSeconds
        try checkTTL(ttl)
        var environment: [(key: String, value: String)] = []
        for (key, value) in (request.environmentVars ?? [:]).sorted(by: { $0.key < $1.key }) {
            try Self.checkEnvironment(key, value)
            environment.append((key, value))
        }
        var files: [(String, [UInt8])] = []
        for (path, text) in (request.files ?? [:]).sorted(by: { $0.key < $1.key }) {
            let relative: String
            do throws(WorkspaceFiles.Failure) { relative = try WorkspaceFiles.normalise(path) } catch { throw Self.engineError(error) }
            guard !relative.isEmpty else {
                throw EngineError(.invalidRequest, "files: '\(path)' names the workspace itself; name a file in it", field: "files")
            }
            files.append((path, Array(text.utf8)))
        }
        var workspace = SessionWorkspace.Kind.scratch
        if let mount = request.mount { workspace = try hostMount(mount) }
        return SessionPlan(language: language, limits: limits, ttl: ttl, allowNetwork: request.allowNetwork ?? false,
                           environment: environment, files: files, workspace: workspace, mount: request.mount,
                           metadata: request.metadata ?? [:],
                           reported: SessionInfo.Limits(maxMemoryMb: limits.memoryMB, processes: limits.processes,
                                                        cpuPercent: limits.effectiveCPUPercent, diskMb: limits.workspaceMB))
    }

    static func checkEnvironment(_ key: String, _ value: String) throws(EngineError) {
        guard !key.isEmpty, !key.contains("="), !(key + value).utf8.contains(0) else {
            throw EngineError(.invalidRequest, "environment variable '\(key)': a name is non-empty without '=' and neither holds a NUL byte", field: "env")
        }
    }

    /// A host directory the operator allowed (`--allow-host-path`), resolved (no symlink games).
    func hostMount(_ mount: CreateSessionRequest.Mount) throws(EngineError) -> SessionWorkspace.Kind {
        guard mount.mode == "shadow" || mount.mode == "readonly" else {
            throw EngineError(.invalidRequest, "mount.mode must be 'shadow' (copy-on-write) or 'readonly', got '\(mount.mode)'", field: "mount")
        }
        let roots = settings.allowedHostRoots.compactMap { Self.realPath($0) }
        guard mount.hostPath.hasPathPrefix("/"), let resolved = Self.realPath(mount.hostPath) else {
            throw EngineError(.forbidden, "mount.host_path '\(mount.hostPath)' is not an existing absolute directory under the allowed roots "
                + "(\(roots.isEmpty ? "none: start the server with --allow-host-path DIR" : roots.joined(separator: ", ")))")
        }
        // Bytes, not characters: "café" (precomposed) and "cafe\u{301}" are equal Swift strings and two directories.
        guard roots.contains(where: { resolved.isBytewise($0) || resolved.hasPathPrefix($0.isBytewise("/") ? "/" : $0 + "/") }) else {
            throw EngineError(.forbidden, "mount.host_path '\(mount.hostPath)' is outside the allowed roots "
                + "(\(roots.isEmpty ? "none: start the server with --allow-host-path DIR" : roots.joined(separator: ", ")))")
        }
        var st = stat()
        guard stat(resolved, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
            throw EngineError(.invalidRequest, "mount.host_path '\(mount.hostPath)' is not a directory", field: "mount")
        }
        return mount.mode == "shadow" ? .shadow(hostPath: resolved) : .readOnly(hostPath: resolved)
    }

    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    /// A session's jail with its agent greeted: what a create finishes (or a warm pool holds).
    struct Launched: Sendable {
        var id: String
        var jail: SessionJail
        var agent: SessionAgent
        /// The limits its cgroup and workspace have now.
        var limits: ResourceLimits
    }

    /// Starts a session's jail and greets its agent. The agent starts with at least one core's CPU
    /// share and gets `limits`' own once it has answered: its start-up (~30 ms of CPU) is Corral's
    /// cost, not the session's, and at a share of a few percent it took seconds (over 15 s on a
    /// loaded CI host) before any of the caller's code ran.
    func launch(limits: ResourceLimits, workspace: SessionWorkspace.Kind, network: Bool) async throws(EngineError) -> Launched {
        let sources = try SessionAgentSources.bundled.get()
        let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz")
        let id = "ses-" + String((0..<12).map { _ in alphabet[Int.random(in: 0..<alphabet.count)] })
        var paths = Set<String>()
        for language in runtime.catalog.languages { paths.formUnion(language.paths ?? []) }
        var startLimits = limits
        startLimits.cpuPercent = max(limits.effectiveCPUPercent, min(100, ResourceLimits.maximum.effectiveCPUPercent))
        var spec = JailSpec(arguments: ["/usr/bin/python3", "-I", "-c", sources.agent], environment: JailSpec.baseEnvironment,
                            readOnlyPaths: paths.sorted(), limits: startLimits, network: network)
        spec.workingDirectory = JailSpec.workspacePath
        let agent = SessionAgent()
        let jail: SessionJail
        do throws(SandboxError) {
            jail = try await runtime.sandbox.startSession(Sandbox.SessionSetup(spec: spec, workspace: workspace, id: id),
                                                          onFrame: { agent.received($0) }, onEnd: { agent.ended($0) })
        } catch {
            throw EngineError(.internalError, "the session's jail could not start: \(error)")
        }
        agent.attach(jail)
        do throws(EngineError) {
            // 60 s: on a loaded 2-core host (200 tasks queued, four sessions starting and four torn
            // down at once) a greeting was seen to take over 15 s; a session that starts late is
            // better than one refused, and a jail that never answers still ends here.
            _ = try await agent.call(["op": "hello", "python_context_source": sources.pythonContext,
                                      "javascript_context_source": sources.javascriptContext], deadline: 60)
        } catch {
            // What the jail was doing goes to the error: a greeting that never comes has no other trace.
            let diagnosis = jail.diagnosis()
            agent.ended("its agent did not start")
            jail.destroy()
            throw EngineError(.internalError, "the session's agent did not start: \(error.message) (\(diagnosis))")
        }
        if startLimits.effectiveCPUPercent != limits.effectiveCPUPercent {
            do throws(SandboxError) { try jail.retarget(limits, replacing: startLimits) } catch {
                agent.ended("its limits could not be set")
                jail.destroy()
                throw EngineError(.internalError, "the session's CPU share could not be set: \(error)")
            }
        }
        return Launched(id: id, jail: jail, agent: agent, limits: limits)
    }

    /// A session for `plan`: a warm one when one fits, else a fresh jail; then its initial files.
    func start(_ plan: SessionPlan, owner: String) async throws(EngineError) -> Session {
        let launched: Launched
        if let warm = takeWarm(for: plan) {
            launched = warm
        } else {
            launched = try await launch(limits: plan.limits, workspace: plan.workspace, network: plan.allowNetwork)
        }
        refillWarm()
        let languageEnv = (plan.language.env ?? [:]).sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) }
        let session = Session(id: launched.id, owner: owner, language: plan.language.name, limits: plan.reported, allowNetwork: plan.allowNetwork,
                              mount: plan.mount, metadata: plan.metadata,
                              environment: Runtime.merge(JailSpec.baseEnvironment + languageEnv, plan.environment),
                              ttl: plan.ttl, jail: launched.jail, agent: launched.agent)
        do throws(EngineError) {
            for (path, contents) in plan.files {
                do throws(WorkspaceFiles.Failure) { try session.files.write(path, contents) } catch { throw Self.engineError(error) }
            }
        } catch {
            session.destroy()
            throw error
        }
        return session
    }

    static func engineError(_ failure: WorkspaceFiles.Failure) -> EngineError {
        switch failure {
        case .invalidPath(let m): EngineError(.invalidRequest, m, field: "path")
        case .notFound(let m): EngineError(.notFound, m)
        case .symlink(let m): EngineError(.invalidRequest, m, field: "path")
        case .tooLarge(let m): EngineError(.payloadTooLarge, m)
        case .system(let m): EngineError(.internalError, m)
        }
    }
}
