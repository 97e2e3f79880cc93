import CorralSandbox
import Foundation

/// Runs a language's analyzer script on untrusted code inside a jail: a parser
/// fed hostile input may crash, loop or exhaust memory, and then only the jail suffers.
struct SyntaxTreeAnalyzer: Sendable {
    let sandbox: Sandbox?

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
        limits.outputBytes = 16 << 20
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
