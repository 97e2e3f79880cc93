import Foundation
import CorralSandbox

/// Runs programs of the catalog's languages in the sandbox.
public struct Runtime: Sendable {
    public let catalog: LanguageCatalog
    public let sandbox: Sandbox

    public init(sandbox: Sandbox, catalog: LanguageCatalog = .shipped) {
        self.sandbox = sandbox
        self.catalog = catalog
    }

    /// Runs `request` and returns the sandbox's result (errors in the request are results too).
    public func run(_ request: RunRequest) async -> RunResult {
        guard let language = catalog.language(named: request.language) else {
            return .internalError("unknown language '\(request.language)'; available: \(catalog.names.joined(separator: ", "))")
        }
        return await sandbox.run(jailSpec(for: request, language: language))
    }

    /// The jail that runs `request`'s program with `language`'s run command.
    public func jailSpec(for request: RunRequest, language: Language) -> JailSpec {
        let source = JailSpec.workspacePath + "/" + language.sourceFile
        let argv = language.run.map { $0.replacingPlaceholders(source: source) } + request.arguments
        // Later sources override earlier ones: base, then the language, then the request.
        var env: [(key: String, value: String)] = []
        let languageEnv = (language.env ?? [:]).sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) }
        for (k, v) in JailSpec.baseEnvironment + languageEnv + request.environment {
            if let i = env.firstIndex(where: { $0.key == k }) { env[i].value = v } else { env.append((k, v)) }
        }
        var limits = request.limits
        if let minimum = language.minimumLimits {
            if let p = minimum.processes { limits.processes = max(limits.processes, p) }
            if let m = minimum.memoryMB { limits.memoryMB = max(limits.memoryMB, m) }
        }
        let files = [JailFile(path: language.sourceFile, contents: Array(request.code.utf8))]
            + request.extraFiles.filter { $0.path != language.sourceFile }
        return JailSpec(arguments: argv, environment: env, files: files, readOnlyPaths: language.paths ?? [],
                        stdin: request.stdin, limits: limits, network: request.network)
    }
}

extension String {
    func replacingPlaceholders(source: String, out: String = "/out") -> String {
        var s = self
        if s.contains("{source}") { s = s.replacingOccurrences(of: "{source}", with: source) }
        if s.contains("{out}") { s = s.replacingOccurrences(of: "{out}", with: out) }
        return s
    }
}
