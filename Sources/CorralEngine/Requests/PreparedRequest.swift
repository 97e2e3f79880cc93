import CorralPolicy
import CorralRuntimes
import CorralSandbox
import Foundation

/// A request checked and resolved against the configuration: its language, limits and run request.
struct PreparedRequest: Sendable {
    var language: Language
    var run: RunRequest
    var profile: Profile?
    var codeHash: String
    /// Static validation: the mode and options this request is checked with.
    var policyMode: PolicyMode
    var validation: ValidationOptions
}

extension Engine {
    /// Step 1 of the pipeline: every check that needs no jail. Throws with what to fix.
    func prepare(_ request: ExecuteRequest) throws(EngineError) -> PreparedRequest {
        guard let language = runtime.catalog.language(named: request.language) else {
            throw EngineError(.unknownLanguage, "unknown language '\(request.language)'; available: \(runtime.catalog.names.joined(separator: ", "))")
        }
        let codeBytes = request.code.utf8.count
        guard codeBytes <= configuration.maxCodeBytes else {
            throw EngineError(.payloadTooLarge, "code is \(codeBytes) bytes; the limit is \(configuration.maxCodeBytes)")
        }
        guard !request.code.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw EngineError(.invalidRequest, "code is empty")
        }
        let stdinBytes = request.stdinData?.utf8.count ?? 0
        guard stdinBytes <= configuration.maxStdinBytes else {
            throw EngineError(.payloadTooLarge, "stdin_data is \(stdinBytes) bytes; the limit is \(configuration.maxStdinBytes)")
        }
        if let deps = request.dependencies, !deps.isEmpty {
            throw EngineError(.invalidRequest, "dependencies are not supported yet: install nothing, use the standard library (got \(deps.count))")
        }
        var profile: Profile?
        if let name = request.profile {
            guard let p = configuration.profiles[name] else {
                throw EngineError(.invalidRequest, "unknown profile '\(name)'; available: \(configuration.profiles.keys.sorted().joined(separator: ", "))")
            }
            profile = p
        }
        var limits = profile?.limits ?? configuration.defaultLimits
        if let t = request.timeoutSeconds { limits.timeoutSeconds = t; limits.cpuTimeSeconds = nil }
        if let m = request.maxMemoryMb { limits.memoryMB = m }
        if let o = request.maxOutputSize { limits.outputBytes = o }
        if let c = request.cpuPercent { limits.cpuPercent = c }
        do { try limits.validate(against: configuration.maximumLimits) } catch {
            throw EngineError(.invalidLimit, error.description)
        }
        for key in (request.environmentVars ?? [:]).keys where key.isEmpty || key.contains("=") || key.utf8.contains(0) {
            throw EngineError(.invalidRequest, "environment variable name '\(key)' is invalid")
        }
        var run = RunRequest(language: language.name, code: request.code, arguments: request.args ?? [],
                             stdin: Array((request.stdinData ?? "").utf8),
                             environment: (request.environmentVars ?? [:]).sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) },
                             limits: limits, network: request.allowNetwork ?? profile?.allowNetwork ?? false)
        // allow_filesystem defaults to false (seeds 000 and 003): the workspace is read-only; /tmp stays writable (issue 5).
        run.writableWorkspace = request.allowFilesystem ?? profile?.allowFilesystem ?? false
        var hasher = SHA256()
        hasher.update(Array(request.code.utf8))
        var validation = profile?.validationOptions ?? ValidationOptions(threshold: configuration.policyThreshold)
        validation.allowNetwork = run.network
        validation.allowFilesystem = run.writableWorkspace
        if let imports = request.authorizedImports { validation.authorizedImports = imports }
        var mode = profile?.policy.mode ?? configuration.policyMode
        if let strict = request.strictMode { mode = strict ? .strict : (mode == .strict ? .warn : mode) }
        return PreparedRequest(language: language, run: run, profile: profile, codeHash: hasher.hexDigest(),
                               policyMode: mode, validation: validation)
    }

    /// The result cache key: everything that can change a result.
    func resultKey(_ p: PreparedRequest) async -> String {
        var h = SHA256()
        h.field("corral-result-v1")
        h.field(p.language.name)
        h.field(await runtime.versions.version(of: p.language) ?? "")
        h.field(p.codeHash) // the code, hashed once in `prepare`
        h.field(p.run.stdin)
        for (k, v) in p.run.environment { h.field(k); h.field(v) }
        h.field("args")
        for a in p.run.arguments { h.field(a) }
        let l = p.run.limits
        h.field("\(l.timeoutSeconds)|\(l.effectiveCPUSeconds)|\(l.memoryMB)|\(l.processes)|\(l.outputBytes)|\(l.fileSizeMB)|\(l.openFiles)|\(l.workspaceMB)|\(l.tmpMB)|cpu=\(l.effectiveCPUPercent)")
        h.field("net=\(p.run.network) fs=\(p.run.writableWorkspace)")
        return h.hexDigest()
    }
}
