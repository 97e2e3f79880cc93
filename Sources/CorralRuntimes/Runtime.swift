import CorralSandbox
import Foundation

/// Runs programs of the catalog's languages in the sandbox: interpreted ones
/// in one jail, compiled ones in two (compile, then run), each with its own limits.
public struct Runtime: Sendable {
    public let catalog: LanguageCatalog
    public let sandbox: Sandbox
    public let compileCache: CompileCache
    public let versions: ToolchainVersions
    /// Jails started ahead of time for interpreted languages (nil: every run is cold).
    public let warmPools: WarmPools?

    public init(sandbox: Sandbox, catalog: LanguageCatalog = .shipped, compileCache: CompileCache = CompileCache(),
                versions: ToolchainVersions = ToolchainVersions(), warmPools settings: WarmPoolSettings = .off) {
        self.sandbox = sandbox
        self.catalog = catalog
        self.compileCache = compileCache
        self.versions = versions
        let templates = settings.enabled ? Self.warmTemplates(catalog) : [:]
        let forkTemplates = settings.enabled ? Self.forkTemplates(catalog, settings: settings) : [:]
        warmPools = templates.isEmpty ? nil
            : WarmPools(sandbox: sandbox, templates: templates, forkTemplates: forkTemplates, settings: settings)
    }

    /// Runs `request` and returns the result (errors in the request are results too).
    /// `started` sees the run's jail before its program runs (tests prove nothing outlives it).
    public func run(_ request: RunRequest, started: (@Sendable (JailHandle) -> Void)? = nil) async -> RunResult {
        guard let language = catalog.language(named: request.language) else {
            return .internalError("unknown language '\(request.language)'; available: \(catalog.names.joined(separator: ", "))")
        }
        guard language.isCompiled else {
            if let result = await runWarm(request, language: language, started: started) { return result }
            return await sandbox.run(jailSpec(for: request, language: language), started: started)
        }
        return await runCompiled(request, language: language)
    }

    /// The program's files: the main source plus any others.
    func files(of request: RunRequest, language: Language) -> [JailFile] {
        let main = entryPoint(of: request, language: language).sourceFile
        if request.code.isEmpty, request.extraFiles.contains(where: { $0.path == main }) {
            return request.extraFiles
        }
        return [JailFile(path: main, contents: Array(request.code.utf8))] + request.extraFiles.filter { $0.path != main }
    }

    /// The jail that runs `request`'s program with `language`'s run command (artifacts at `/out` when compiled).
    public func jailSpec(for request: RunRequest, language: Language, artifacts: String? = nil) -> JailSpec {
        let files = files(of: request, language: language)
        let argv = expand(language.run, files: files, language: language) + request.arguments
        var limits = request.limits
        if let minimum = language.minimumLimits { limits = minimum.raise(limits) }
        var spec = JailSpec(arguments: argv, environment: environment(language, request), files: files,
                            readOnlyPaths: language.paths ?? [], stdin: request.stdin, limits: limits, network: request.network)
        spec.writableWorkspace = request.writableWorkspace
        spec.onOutput = request.onOutput
        if let artifacts {
            spec.outputDirectory = artifacts
            spec.outputReadOnly = true
        }
        return spec
    }

    /// The run's environment. Later sources override earlier ones: base, then the language, then the request.
    func environment(_ language: Language, _ request: RunRequest) -> [(key: String, value: String)] {
        Self.merge(Self.catalogEnvironment(language), request.environment)
    }

    /// The catalog's environment alone: base, then the language. All a compile stage ever gets,
    /// since toolchains read their environment (GOFLAGS, NODE_OPTIONS …) and artifacts are shared.
    static func catalogEnvironment(_ language: Language) -> [(key: String, value: String)] {
        let languageEnv = (language.env ?? [:]).sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) }
        return Self.merge(JailSpec.baseEnvironment, languageEnv)
    }

    /// `base` with `overrides` applied in order: a key keeps its first position and takes its last value.
    /// Linear in the entries (a position index by key): a request may carry tens of thousands.
    public static func merge(_ base: [(key: String, value: String)], _ overrides: [(key: String, value: String)]) -> [(key: String, value: String)] {
        var env: [(key: String, value: String)] = []
        var position: [String: Int] = [:]
        env.reserveCapacity(base.count + overrides.count)
        for (k, v) in base + overrides {
            if let i = position[k] { env[i].value = v } else { position[k] = env.count; env.append((k, v)) }
        }
        return env
    }

    /// Expands a command template: `{source}`, `{out}`, `{workspace}`, `{main_class}` inside words; `{sources}` as
    /// one word per source file.
    func expand(_ template: [String], files: [JailFile], language: Language, extra: [String] = []) -> [String] {
        let ws = JailSpec.workspacePath
        let entry = entryPoint(files: files, language: language)
        var argv: [String] = []
        for word in template {
            if word == "{sources}" {
                let sources = files.map(\.path).filter(language.isSource)
                argv += (sources.isEmpty ? [entry.sourceFile] : sources).map { ws + "/" + $0 }
                argv += extra
                continue
            }
            argv.append(word.replacingOccurrences(of: "{source}", with: ws + "/" + entry.sourceFile)
                .replacingOccurrences(of: "{main_class}", with: entry.mainClass)
                .replacingOccurrences(of: "{out}", with: "/out")
                .replacingOccurrences(of: "{workspace}", with: ws))
        }
        return argv
    }
}
