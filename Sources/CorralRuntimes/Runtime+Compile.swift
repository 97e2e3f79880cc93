import CorralSandbox

extension Runtime {
    /// Size of the host tmpfs that receives a compile's output.
    static let compileOutputMB = 256

    /// The compile stage of `request`: the catalog's command over the request's files and compiler
    /// options, the catalog's environment (never the request's), the catalog's read-only paths,
    /// and the request's limits resolved by `CompileLimits`. Nil for an interpreted language.
    func compileStage(for request: RunRequest, language: Language) -> CompileStage? {
        guard let template = language.compile else { return nil }
        let files = files(of: request, language: language)
        return CompileStage(sandbox: sandbox, language: language,
                            argv: expand(template, files: files, language: language, extra: request.compilerOptions),
                            environment: Self.catalogEnvironment(language), files: files, readOnlyPaths: language.paths ?? [],
                            limits: CompileLimits.resolve(request, language: language))
    }

    /// Compiles (or finds in the cache) and runs a compiled language's program: two jails.
    func runCompiled(_ request: RunRequest, language: Language) async -> RunResult {
        guard let stage = compileStage(for: request, language: language) else {
            return .internalError("\(language.name) has no compile command in the catalog")
        }
        let version = await versions.version(of: language) ?? "unknown"
        let key = CompileCacheKey.make(stage, toolchainVersion: version, namespace: request.cacheNamespace)
        let lookup: CompileCache.Lookup
        do {
            lookup = try await compileCache.entry(for: key) { directory in await stage.compile(into: directory).result }
        } catch {
            return .internalError(error.description)
        }
        let entry: CompileCache.Entry
        var compile: CompileResult
        switch lookup {
        case .cached(let stored):
            entry = stored
            compile = CompileResult(status: .success, cached: true)
        case .compiled(let stored, let result, let shared):
            entry = stored
            compile = result
            compile.cached = shared // a concurrent request compiled it; this one did not
        case .failed(let result):
            return Self.compileFailure(result)
        }
        await compileCache.pin(entry.key)
        var result = await sandbox.run(jailSpec(for: request, language: language, artifacts: entry.directory))
        await compileCache.unpin(entry.key)
        result.compile = compile
        return result
    }

    /// The request's result when its compile stage produced nothing to run: `compile_error`, with
    /// `limit_exceeded` and a message naming the limit when one stopped the compiler (the program
    /// never ran, so no run status applies); `internal_error` when Corral itself failed.
    static func compileFailure(_ compile: CompileResult) -> RunResult {
        // No exit code or signal: the program never ran (the compiler's are in `compile`).
        var failed = RunResult(status: .compileError, stderr: compile.stderr, limitExceeded: compile.limitExceeded)
        failed.compile = compile
        if compile.status == .internalError {
            failed.status = .internalError
            failed.errorMessage = compile.errorMessage ?? "the compile stage failed inside Corral"
        } else if let message = compile.errorMessage {
            failed.errorMessage = message
        } else if let code = compile.exitCode, code > 128, compile.status == .killed {
            failed.errorMessage = "the compiler was killed by signal \(code - 128)"
        } else {
            failed.errorMessage = "compilation failed with exit code \(compile.exitCode.map(String.init) ?? "none")"
        }
        return failed
    }
}
