import CorralSandbox

/// One compile: in its own jail with its own limits, writing to a host tmpfs
/// at `/out` that is then copied, as hostile input, into a cache directory.
struct CompileStage: Sendable {
    let sandbox: Sandbox
    let language: Language
    let argv: [String]
    let files: [JailFile]
    let environment: [(key: String, value: String)]
    let limits: ResourceLimits

    func compile(into directory: String) async -> CompileResult {
        let scratch: ScratchMount
        do { scratch = try ScratchMount(sizeMB: Runtime.compileOutputMB) } catch {
            return CompileResult(status: .internalError, stderr: "cannot prepare the compile output: \(error)", cached: false)
        }
        var limits = self.limits
        if let minimum = language.minimumCompileLimits { limits = minimum.raise(limits) }
        var spec = JailSpec(arguments: argv, environment: environment, files: files, readOnlyPaths: language.paths ?? [],
                            limits: limits)
        spec.outputDirectory = scratch.path
        // The tmpfs must stay mounted until its contents are copied: keep `scratch` alive past its last use.
        defer { withExtendedLifetime(scratch) {} }
        let result = await sandbox.run(spec)
        var compile = CompileResult(status: result.status, stdout: result.stdout, stderr: result.stderr,
                                    exitCode: result.exitCode, executionTimeMs: result.executionTimeMs, cached: false)
        if result.status == .internalError, let message = result.errorMessage {
            compile.stderr += (compile.stderr.isEmpty ? "" : "\n") + message
        }
        guard result.status == .success else { return compile }
        do {
            try HostileTree.copy(from: scratch.path, to: directory)
        } catch {
            compile.status = .internalError
            compile.stderr += "\ncorral: cannot collect the compiler's output: \(error)"
        }
        return compile
    }
}
