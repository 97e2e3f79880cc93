import CorralSandbox

/// One compile: in its own jail with its own limits, writing to a host tmpfs
/// at `/out` that is then copied, as hostile input, into a cache directory.
///
/// Built by `Runtime.compileStage(for:language:)` from the catalog and the request's program,
/// options and limits only; every field is an input of `CompileCacheKey` except `limits`.
struct CompileStage: Sendable {
    let sandbox: Sandbox
    let language: Language
    let argv: [String]
    /// The catalog's environment (`JailSpec.baseEnvironment` + the language's `env`), never the request's.
    let environment: [(key: String, value: String)]
    let files: [JailFile]
    let readOnlyPaths: [String]
    /// Already resolved by `CompileLimits.resolve`.
    let limits: ResourceLimits

    /// What a compile did: its result for the user and, when a jail ran, that jail's own result
    /// (peak memory, CPU time) for measurements and tests.
    struct Outcome: Sendable {
        var result: CompileResult
        var jail: RunResult?
    }

    /// The jail the compiler runs in, writing to `output`.
    func jailSpec(output: String) -> JailSpec {
        var spec = JailSpec(arguments: argv, environment: environment, files: files, readOnlyPaths: readOnlyPaths, limits: limits)
        spec.outputDirectory = output
        return spec
    }

    func compile(into directory: String) async -> Outcome {
        let scratch: ScratchMount
        do { scratch = try ScratchMount(sizeMB: Runtime.compileOutputMB) } catch {
            return Outcome(result: CompileResult(status: .internalError, cached: false,
                                                 errorMessage: "cannot prepare the compile output tmpfs: \(error)"))
        }
        // The tmpfs must stay mounted until its contents are copied: keep `scratch` alive past its last use.
        defer { withExtendedLifetime(scratch) {} }
        let jail = await sandbox.run(jailSpec(output: scratch.path))
        var compile = CompileResult(status: jail.status, stdout: jail.stdout, stderr: jail.stderr, exitCode: jail.exitCode,
                                    executionTimeMs: jail.executionTimeMs, cached: false, limitExceeded: jail.limitExceeded)
        if jail.status == .internalError {
            compile.errorMessage = "the compile jail failed: \(jail.errorMessage ?? "no reason given")"
        } else if let kind = jail.limitExceeded {
            var message = CompileLimits.stoppedMessage(kind, limits: limits)
            if jail.status == .success {
                message += " (the compiler reported success, but artifacts built past a limit are neither used nor cached)"
            }
            compile.errorMessage = message
        }
        guard compile.isCacheable else { return Outcome(result: compile, jail: jail) }
        do throws(SandboxError) {
            try HostileTree.copy(from: scratch.path, to: directory)
        } catch .invalidRequest(let reason) {
            // The compiler wrote something the host will not take (too deep, too large): the program's doing.
            compile.status = .error
            compile.errorMessage = "the compiler's output was rejected: \(reason)"
        } catch {
            compile.status = .internalError
            compile.errorMessage = "cannot collect the compiler's output from \(scratch.path) into \(directory): \(error)"
        }
        return Outcome(result: compile, jail: jail)
    }
}

extension CompileResult {
    /// Whether the compile's artifacts may be stored and shared: the compiler succeeded and no
    /// limit tripped on the way (a compiler that survived a failed fork or thread may have built
    /// something else, and `CompileCacheKey` leaves limits out because of this rule).
    var isCacheable: Bool { status == .success && limitExceeded == nil }
}
