import Foundation

/// The programs a session runs inside its jail (`Resources/`): the agent, given to
/// `python3 -I -c`, and the code-interpreter context servers it starts, sent to it in `hello`.
struct SessionAgentSources: Sendable {
    var agent: String
    var pythonContext: String
    var javascriptContext: String

    static let bundled: Result<SessionAgentSources, EngineError> = {
        guard let dir = Bundle.module.url(forResource: "Resources", withExtension: nil) else {
            return .failure(EngineError(.internalError, "the session agent's files are missing from Corral's resources (CorralEngine's Resources bundle); reinstall Corral"))
        }
        func read(_ name: String) -> String? { try? String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8) }
        guard let agent = read("session_agent.py"), let py = read("context_python.py"), let js = read("context_javascript.js") else {
            return .failure(EngineError(.internalError, "a session agent file is missing or unreadable in \(dir.path); reinstall Corral"))
        }
        return .success(SessionAgentSources(agent: agent, pythonContext: py, javascriptContext: js))
    }()
}
