import CorralPolicy
import CorralRuntimes
import CorralSandbox
import Foundation

/// A request checked and resolved against the configuration: its language, limits and run request.
struct PreparedRequest: Sendable {
    var language: Language
    var run: RunRequest
    var profile: Profile?
    /// SHA-256 of the main source (`code`), hashed once: history, the validation and result keys.
    var codeHash: String
    /// Static validation: the mode and options this request is checked with.
    var policyMode: PolicyMode
    var validation: ValidationOptions
    /// What static validation reads: the main source and every other source file of the program.
    var sources: [ProgramSource]
}

/// One source file of a program, as the validator reads it.
struct ProgramSource: Sendable {
    /// The file's path in the workspace (the language's entry point for the main source).
    var path: String
    var code: String
    /// SHA-256 of `code`.
    var hash: String
}

extension RequestResolver {
    /// Every check of an execution that needs no jail. Throws with what to fix.
    func prepare(_ request: ExecuteRequest, options: ExecuteOptions = ExecuteOptions()) throws(EngineError) -> PreparedRequest {
        let language = try language(named: request.language)
        try checkSize(ofCode: request.code)
        try checkEntryPoint(code: request.code, files: options.files, language: language)
        let stdin = try stdinBytes(request.stdinData, bytes: options.stdin)
        if let deps = request.dependencies, !deps.isEmpty {
            throw EngineError(.invalidRequest, "dependencies are not supported yet: install nothing, use the standard library (got \(deps.count))",
                              field: "dependencies")
        }
        if !options.compilerOptions.isEmpty && !language.isCompiled {
            throw EngineError(.invalidRequest, "compiler options given, but \(language.name) is not a compiled language", field: "compile_options")
        }
        let profile = try profile(named: request.profile)
        let limits = try limits(profile: profile, overrides: request.limitOverrides.merged(with: options.limits))
        let environment = try environment(request.environmentVars)

        var run = RunRequest(language: language.name, code: request.code, extraFiles: options.files, arguments: request.args ?? [],
                             stdin: stdin, environment: environment, limits: limits,
                             network: request.allowNetwork ?? profile?.allowNetwork ?? false)
        // allow_filesystem defaults to false (seeds 000 and 003): the workspace is read-only; /tmp, a
        // private size-capped tmpfs counted against the jail's memory, stays writable for scratch.
        run.writableWorkspace = request.allowFilesystem ?? profile?.allowFilesystem ?? false
        run.compilerOptions = options.compilerOptions

        var validation = profile?.validationOptions ?? ValidationOptions(threshold: configuration.policyThreshold)
        validation.allowNetwork = run.network
        validation.allowFilesystem = run.writableWorkspace
        if let imports = request.authorizedImports { validation.authorizedImports = imports }
        let sources = Self.sources(code: request.code, files: options.files, language: language)
        return PreparedRequest(language: language, run: run, profile: profile, codeHash: Self.sha256(request.code),
                               policyMode: policyMode(profile: profile, strictMode: request.strictMode),
                               validation: validation, sources: sources)
    }

    /// The profile's mode (or the configured one); `strict_mode` true makes it strict, false turns a
    /// profile's strict into warn. A server configured strict stays strict: the operator's mode is a
    /// floor no request can lower.
    func policyMode(profile: Profile?, strictMode: Bool?) -> PolicyMode {
        if configuration.policyMode == .strict { return .strict }
        let mode = profile?.policy.mode ?? configuration.policyMode
        guard let strictMode else { return mode }
        return strictMode ? .strict : (mode == .strict ? .warn : mode)
    }

    /// Code must not be blank, unless the program's files hold the language's entry point.
    func checkEntryPoint(code: String, files: [JailFile], language: Language) throws(EngineError) {
        guard code.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return }
        if files.isEmpty { throw EngineError(.invalidRequest, "code is empty", field: "code") }
        // Java finds its entry in whichever source declares `main` (Runtime+EntryPoint): any source will do.
        let hasEntry = language.entryPoint == .java
            ? files.contains { language.isSource($0.path) }
            : files.contains { $0.path == language.sourceFile }
        guard hasEntry else {
            throw EngineError(.invalidRequest, "the program has no \(language.sourceFile), the entry point of a \(language.name) program",
                              field: "code")
        }
    }

    /// Standard input: the bytes given, else the request's text; at most `maxStdinBytes`.
    func stdinBytes(_ text: String?, bytes: [UInt8]?) throws(EngineError) -> [UInt8] {
        let stdin = bytes ?? Array((text ?? "").utf8)
        guard stdin.count <= configuration.maxStdinBytes else {
            throw EngineError(.payloadTooLarge, "stdin_data is \(stdin.count) bytes; the limit is \(configuration.maxStdinBytes)",
                              field: "stdin_data")
        }
        return stdin
    }

    /// The program's source files in the language (data files are not code): what validation reads.
    static func sources(code: String, files: [JailFile], language: Language) -> [ProgramSource] {
        var sources: [ProgramSource] = []
        // Code is the entry point and replaces a file of the same name, exactly as the runtime
        // lays the workspace out (`Runtime.files(of:)`): what is validated is what runs.
        let hasCode = !code.isEmpty
        if hasCode { sources.append(ProgramSource(path: language.sourceFile, code: code, hash: sha256(code))) }
        for file in files where language.isSource(file.path) && !(hasCode && file.path == language.sourceFile) {
            let text = String(decoding: file.contents, as: UTF8.self)
            sources.append(ProgramSource(path: file.path, code: text, hash: sha256(text)))
        }
        return sources
    }

    static func sha256(_ text: String) -> String {
        var hasher = SHA256()
        hasher.update(Array(text.utf8))
        return hasher.hexDigest()
    }
}
