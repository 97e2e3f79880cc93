import CorralSandbox
import Foundation

/// Runs programs of the catalog's languages in the sandbox: interpreted ones
/// in one jail, compiled ones in two (compile, then run), each with its own limits.
public struct Runtime: Sendable {
    public let catalog: LanguageCatalog
    public let sandbox: Sandbox
    public let compileCache: CompileCache
    public let versions: ToolchainVersions

    public init(sandbox: Sandbox, catalog: LanguageCatalog = .shipped, compileCache: CompileCache = CompileCache(),
                versions: ToolchainVersions = ToolchainVersions()) {
        self.sandbox = sandbox
        self.catalog = catalog
        self.compileCache = compileCache
        self.versions = versions
    }

    /// Runs `request` and returns the result (errors in the request are results too).
    public func run(_ request: RunRequest) async -> RunResult {
        guard let language = catalog.language(named: request.language) else {
            return .internalError("unknown language '\(request.language)'; available: \(catalog.names.joined(separator: ", "))")
        }
        guard language.isCompiled else {
            return await sandbox.run(jailSpec(for: request, language: language))
        }
        return await runCompiled(request, language: language)
    }

    /// The program's files: the main source plus any others.
    func files(of request: RunRequest, language: Language) -> [JailFile] {
        if request.code.isEmpty, request.extraFiles.contains(where: { $0.path == language.sourceFile }) {
            return request.extraFiles
        }
        return [JailFile(path: language.sourceFile, contents: Array(request.code.utf8))]
            + request.extraFiles.filter { $0.path != language.sourceFile }
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
        if let artifacts {
            spec.outputDirectory = artifacts
            spec.outputReadOnly = true
        }
        return spec
    }

    /// Later sources override earlier ones: base, then the language, then the request.
    func environment(_ language: Language, _ request: RunRequest) -> [(key: String, value: String)] {
        var env: [(key: String, value: String)] = []
        let languageEnv = (language.env ?? [:]).sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) }
        for (k, v) in JailSpec.baseEnvironment + languageEnv + request.environment {
            if let i = env.firstIndex(where: { $0.key == k }) { env[i].value = v } else { env.append((k, v)) }
        }
        return env
    }

    /// Expands a command template: `{source}`, `{out}`, `{workspace}` inside words; `{sources}` as one word per source file.
    func expand(_ template: [String], files: [JailFile], language: Language, extra: [String] = []) -> [String] {
        let ws = JailSpec.workspacePath
        var argv: [String] = []
        for word in template {
            if word == "{sources}" {
                let sources = files.map(\.path).filter(language.isSource)
                argv += (sources.isEmpty ? [language.sourceFile] : sources).map { ws + "/" + $0 }
                argv += extra
                continue
            }
            argv.append(word.replacingOccurrences(of: "{source}", with: ws + "/" + language.sourceFile)
                .replacingOccurrences(of: "{out}", with: "/out")
                .replacingOccurrences(of: "{workspace}", with: ws))
        }
        return argv
    }
}

extension Runtime {
    /// Limits of a compile stage unless a request says otherwise: more memory and processes than a run.
    public static let defaultCompileLimits: ResourceLimits = {
        var l = ResourceLimits()
        l.timeoutSeconds = 30
        l.memoryMB = 1536
        l.processes = 256
        l.fileSizeMB = 256
        l.tmpMB = 512
        return l
    }()

    /// Size of the host tmpfs that receives a compile's output.
    static let compileOutputMB = 256

    func runCompiled(_ request: RunRequest, language: Language) async -> RunResult {
        let files = files(of: request, language: language)
        let version = await versions.version(of: language) ?? "unknown"
        let compileArgv = expand(language.compile!, files: files, language: language, extra: request.compilerOptions)
        var hasher = SHA256()
        hasher.field("corral-compile-v1")
        hasher.field(language.name)
        hasher.field(version)
        compileArgv.forEach { hasher.field($0) }
        for file in files.sorted(by: { $0.path < $1.path }) {
            hasher.field(file.path); hasher.field(file.contents); hasher.field(file.executable ? "x" : "-")
        }
        let key = hasher.hexDigest()

        let stage = CompileStage(sandbox: sandbox, language: language, argv: compileArgv, files: files,
                                 environment: environment(language, request), limits: request.compileLimits ?? Self.defaultCompileLimits)
        let holder = CompileOutcomeHolder()
        let (entry, hit) = await compileCache.entry(for: key) { directory in
            let outcome = await stage.compile(into: directory)
            holder.set(outcome)
            return outcome.status == .success
        }
        var compileResult = holder.get() ?? CompileResult(status: .success, cached: hit)
        compileResult.cached = hit && holder.get() == nil
        guard let entry else {
            var failed = RunResult(status: compileResult.status == .internalError ? .internalError : .compileError)
            if compileResult.status == .success { // a concurrent compile of the same key failed
                failed.errorMessage = "compilation failed (in a concurrent run of the same program)"
            } else {
                failed.errorMessage = compileResult.status == .error
                    ? "compilation failed with exit code \(compileResult.exitCode ?? -1)"
                    : "compilation ended with status \(compileResult.status.rawValue)"
            }
            failed.stderr = compileResult.stderr
            failed.compile = compileResult
            return failed
        }
        await compileCache.pin(entry.key)
        var result = await sandbox.run(jailSpec(for: request, language: language, artifacts: entry.directory))
        await compileCache.unpin(entry.key)
        result.compile = compileResult
        return result
    }
}

final class CompileOutcomeHolder: @unchecked Sendable {
    private let lock = NSLock()
    private var value: CompileResult?
    func set(_ v: CompileResult) { lock.lock(); value = v; lock.unlock() }
    func get() -> CompileResult? { lock.lock(); defer { lock.unlock() }; return value }
}
