import CorralEngine
import CorralPolicy

/// Where the agent's code runs: a stateful Python context in a session of the engine.
public protocol AgentSandbox: Sendable {
    /// Runs `code` in the context (variables stay between calls).
    func run(_ code: String, timeout: Double) async throws(EngineError) -> RunCodeResult
    /// The engine's validator on `code`, with the preset's authorized imports.
    func validate(_ code: String, authorizedImports: [String]) async throws(EngineError) -> ValidationReport
    /// The working copy's diff (nil: not a shadow copy, or nothing changed).
    func diff() async -> String?
}

/// A session of `engine`: one Python context made for the run, in `/workspace`.
public struct EngineSandbox: AgentSandbox {
    public let engine: Engine
    public let sessionID: String
    public let context: ExecutionContext
    let contextID: String

    public static func open(engine: Engine, sessionID: String, context: ExecutionContext) async throws(EngineError) -> EngineSandbox {
        let made = try await engine.createContext(sessionID, CreateContextRequest(language: "python"), context: context)
        return EngineSandbox(engine: engine, sessionID: sessionID, context: context, contextID: made.contextID)
    }

    public func run(_ code: String, timeout: Double) async throws(EngineError) -> RunCodeResult {
        var request = RunCodeRequest(code: code, contextID: contextID)
        request.timeoutSeconds = timeout
        return try await engine.runCode(sessionID, request, context: context)
    }

    public func validate(_ code: String, authorizedImports: [String]) async throws(EngineError) -> ValidationReport {
        var request = ValidateRequest(code: code, language: "python")
        // The workspace is the agent's to read and change; the network is not.
        request.allowFilesystem = true
        request.allowNetwork = false
        request.authorizedImports = authorizedImports
        return try await engine.validate(request)
    }

    public func diff() async -> String? {
        // A read-only or scratch workspace has no changes to show (the engine says so): nil.
        do throws(EngineError) {
            let report = try engine.sessionDiff(sessionID, path: nil, context: context)
            return report.diff.isEmpty && report.binaryFiles.isEmpty ? nil
                : report.diff + report.binaryFiles.map { "Binary file \($0) changed\n" }.joined()
        } catch {
            return nil
        }
    }
}
