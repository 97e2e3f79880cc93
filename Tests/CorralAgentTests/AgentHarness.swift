import CorralAgent
import CorralEngine
import CorralStore
import CorralTestSupport
import Foundation

/// A run of the agent against a scripted model, in a real session of a real engine.
struct AgentHarness {
    let model: ScriptedModel
    let engine: Engine
    let context = ExecutionContext(caller: "agent-test")

    init(_ replies: [ScriptedModel.Reply], roots: [String] = []) throws {
        model = try ScriptedModel(replies)
        var configuration = EngineConfiguration()
        configuration.workers = 1
        configuration.queueCapacity = 8
        configuration.cacheEnabled = false
        configuration.policyMode = .off
        configuration.sessions.allowedHostRoots = roots
        configuration.sessions.warmSessions = 0
        engine = try Engine(configuration: configuration, runtime: TestSupport.runtime, history: InMemoryHistoryStore())
    }

    /// Settings for the scripted model, with short waits.
    func settings(timeout: Double = 30, retries: Int = 0) -> LLMSettings {
        var settings = LLMSettings(url: model.url, model: "scripted", apiKey: "test-key-123")
        settings.timeoutSeconds = timeout
        settings.retries = retries
        settings.backoffSeconds = 0.1
        return settings
    }

    /// Runs the agent on `task` in a new session (mounting `dir` as the preset says); the session
    /// is kept for the test to look at (`end()` removes it).
    func run(_ task: String, preset: String = "general", dir: String? = nil, maxSteps: Int? = nil, tokenBudget: Int? = nil,
             timeout: Double = 30, retries: Int = 0) async throws -> (AgentTranscript, String) {
        let agent = try CorralCodeAgent(settings: settings(timeout: timeout, retries: retries))
        let options = AgentTaskOptions(preset: preset, maxSteps: maxSteps, tokenBudget: tokenBudget)
        let shape = try agent.sessionShape(options)
        var create = CreateSessionRequest()
        create.maxMemoryMb = min(shape.memoryMb, 512)
        if let dir { create.mount = CreateSessionRequest.Mount(hostPath: dir, mode: shape.mountMode) }
        let session = try await engine.createSession(create, context: context)
        let sandbox = try await EngineSandbox.open(engine: engine, sessionID: session.sessionID, context: context)
        let transcript = await agent.loop.run(task: task, options: options, sandbox: sandbox)
        return (transcript, session.sessionID)
    }

    func end() async {
        model.stop()
        await engine.shutdown(closingRuntime: false)
    }
}

/// A directory of files for the agent to work on, and a fingerprint of everything in it.
struct FixtureTree {
    let root: String

    init(_ files: [String: String]) throws {
        root = NSTemporaryDirectory() + "corral-agent-fixture-\(UUID().uuidString.prefix(8))"
        for (path, text) in files {
            let url = URL(fileURLWithPath: root + "/" + path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        // The session's uid reads it through an idmapped mount; the host owner is root.
        chmod(root, 0o755)
    }

    /// Every path, size, mode and content under the root (a change to any shows).
    var fingerprint: String {
        var lines: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let path = enumerator?.nextObject() as? String {
            let full = root + "/" + path
            var st = stat()
            guard lstat(full, &st) == 0 else { continue }
            let content = (st.st_mode & S_IFMT) == S_IFREG ? (FileManager.default.contents(atPath: full) ?? Data()).base64EncodedString() : ""
            lines.append("\(path) \(st.st_mode) \(st.st_size) \(content)")
        }
        return lines.sorted().joined(separator: "\n")
    }

    func text(_ path: String) -> String? { try? String(contentsOfFile: root + "/" + path, encoding: .utf8) }

    func remove() { try? FileManager.default.removeItem(atPath: root) }
}
