import CorralSandbox
import Foundation

/// Runs a language's analyzer script on untrusted code inside a jail: a parser
/// fed hostile input may crash, loop or exhaust memory, and then only the jail suffers.
/// With `workers`, the analyzer runs in a warm worker's jail instead of a fresh one per analysis.
struct SyntaxTreeAnalyzer: Sendable {
    let sandbox: Sandbox?
    let workers: AnalyzerWorkers?

    /// The most an analyzer may print (its report, bounded by the findings cap well below this).
    static let maxOutputBytes = 16 << 20

    /// Python from Debian (`/usr/bin/python3`, never a user's pyenv), isolated (`-I`) and without `site` (`-S`).
    static let python = "/usr/bin/python3"
    static let node = "/usr/bin/node"
    /// Where Debian installs esprima (node-esprima); bound read-only into the jail.
    static let nodeModules = "/usr/share/nodejs"

    /// `script` is the analyzer's source, or for Python its bytecode when `compiled`.
    /// `dialect` tells the JavaScript analyzer the code is TypeScript (transpiled before analysis).
    func analyze(code: String, kind: RuleSet.Analyzer, dialect: String? = nil, script: [UInt8], compiled: Bool = false,
                 table: [UInt8], options: ValidationOptions) async -> Result<AnalyzerOutput, AnalysisFailure> {
        guard let sandbox else {
            return .failure(AnalysisFailure(code: .analyzerUnavailable, message: "no sandbox to run the \(kind.rawValue) analyzer in"))
        }
        if let workers {
            let key = AnalyzerWorkers.PoolKey(language: dialect ?? kind.rawValue, memoryMB: options.memoryMB)
            let spec = workerSpec(kind: kind, dialect: dialect, script: script, compiled: compiled, table: table, options: options)
            return await workers.analyze(code: code, key: key, spec: spec, options: options).map(\.output)
        }
        let spec = jailSpec(code: code, kind: kind, dialect: dialect, script: script, compiled: compiled, table: table,
                            options: options)
        let result = await sandbox.run(spec)
        return Self.interpret(result, options: options)
    }

    func jailSpec(code: String, kind: RuleSet.Analyzer, dialect: String? = nil, script: [UInt8], compiled: Bool = false,
                  table: [UInt8], options: ValidationOptions) -> JailSpec {
        let workspace = JailSpec.workspacePath
        var limits = ResourceLimits()
        limits.timeoutSeconds = options.timeoutSeconds
        limits.memoryMB = options.memoryMB
        limits.processes = 32 // node starts a handful of threads; python two
        limits.outputBytes = Self.maxOutputBytes
        limits.fileSizeMB = 1
        limits.openFiles = 64
        limits.workspaceMB = 8
        limits.tmpMB = 1
        let arguments: [String]
        var readOnly: [String] = []
        let scriptName = kind == .javascript ? "analyzer.js" : (compiled ? "analyzer.pyc" : "analyzer.py")
        switch kind {
        case .python:
            arguments = [Self.python, "-I", "-S", "-B", "\(workspace)/\(scriptName)", "\(workspace)/rules.tsv"]
        case .javascript:
            arguments = [Self.node, "--max-old-space-size=\(max(64, options.memoryMB - 192))", "--stack-size=900",
                         "\(workspace)/analyzer.js", "\(workspace)/rules.tsv"] + (dialect.map { [$0] } ?? [])
            readOnly = [Self.nodeModules]
        }
        return JailSpec(arguments: arguments, environment: JailSpec.baseEnvironment,
                        files: [JailFile(path: scriptName, contents: script), JailFile(path: "rules.tsv", contents: table)],
                        readOnlyPaths: readOnly, stdin: Array(code.utf8), limits: limits, network: false,
                        writableWorkspace: false)
    }

    /// The jail of a warm worker: the one-shot jail, its analyzer in `--serve` mode reading programs
    /// as frames on its stdin. Its timeout is its lifetime's CPU cap (each request has its own deadline).
    func workerSpec(kind: RuleSet.Analyzer, dialect: String?, script: [UInt8], compiled: Bool, table: [UInt8],
                    options: ValidationOptions) -> JailSpec {
        var spec = jailSpec(code: "", kind: kind, dialect: dialect, script: script, compiled: compiled, table: table, options: options)
        spec.arguments.append("--serve")
        spec.stdin = []
        spec.limits.timeoutSeconds = ResourceLimits.maximum.timeoutSeconds
        return spec
    }

    static func interpret(_ result: RunResult, options: ValidationOptions) -> Result<AnalyzerOutput, AnalysisFailure> {
        switch result.status {
        case .success:
            do {
                return .success(try JSONDecoder().decode(AnalyzerOutput.self, from: Data(result.stdout.utf8)))
            } catch {
                return .failure(AnalysisFailure(code: .analyzerFailed, message: "the analyzer's output is unreadable: \(error)"))
            }
        case .timeout:
            return .failure(AnalysisFailure(code: .timeout, message: "the analysis did not finish within \(options.timeoutSeconds) s"))
        case .memoryLimit:
            return .failure(AnalysisFailure(code: .tooComplex, message: "the analysis needed more than \(options.memoryMB) MB"))
        case .internalError:
            return .failure(AnalysisFailure(code: .analyzerUnavailable,
                                            message: "no jail for the analyzer: \(result.errorMessage ?? "unknown error")"))
        default:
            if let signal = result.signal {
                return .failure(AnalysisFailure(code: .analyzerCrashed, message: "the analyzer died of signal \(signal) on this input"))
            }
            let tail = String(result.stderr.suffix(400)).trimmingCharacters(in: .whitespacesAndNewlines)
            return .failure(AnalysisFailure(code: .analyzerFailed,
                                            message: "the analyzer ended with status \(result.status.rawValue)"
                                                + (result.exitCode.map { ", exit \($0)" } ?? "") + (tail.isEmpty ? "" : ": \(tail)")))
        }
    }
}
