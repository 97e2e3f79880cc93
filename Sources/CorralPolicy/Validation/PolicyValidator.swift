import CorralSandbox
import Foundation

/// Finds what code tries to do before it runs: Python and JavaScript on their
/// syntax trees (parsed inside a jail), the other languages with patterns.
/// It advises; the jail enforces. Safe to use from many tasks at once.
public struct PolicyValidator: Sendable {
    public let rules: RuleBook
    private let analyzer: SyntaxTreeAnalyzer

    /// A validator with the shipped rules whose parsers run in `sandbox`'s jails.
    public init(sandbox: Sandbox) throws(PolicyError) {
        self.init(sandbox: sandbox, rules: try RuleBook.shipped())
    }

    /// A validator with `rules`. Without a sandbox, the languages analysed on a syntax tree fall
    /// back to their patterns (and say so in the report's `error`). With `workers`, their analyzers
    /// run as warm workers (see `AnalyzerWorkers`) instead of starting in a fresh jail each time;
    /// call `shutdown()` when done (dropping the last copy of the validator kills them too).
    public init(sandbox: Sandbox?, rules: RuleBook, workers: AnalyzerWorkers.Configuration? = nil) {
        self.rules = rules
        let pools = sandbox.flatMap { sandbox in workers.map { AnalyzerWorkers(sandbox: sandbox, configuration: $0) } }
        self.analyzer = SyntaxTreeAnalyzer(sandbox: sandbox, workers: pools)
        // A service compiles the Python analyzer now, on a thread of its own, rather than on its
        // first request; a one-run front end compiles it only if it analyses Python at all.
        if pools != nil { Thread { _ = rules.pythonBytecode }.start() }
    }

    /// The warm analyzer workers, when this validator has them.
    public var workers: AnalyzerWorkers? { analyzer.workers }

    /// Kills the warm analyzer workers, if any; later analyses fail (`analyzer_unavailable`).
    public func shutdown() { analyzer.workers?.shutdown() }

    /// Validates `code` written in `language` (a name or alias). Never throws: an unknown
    /// language or a failed analysis is a report with an `error`.
    public func validate(code: String, language: String, options: ValidationOptions = ValidationOptions()) async -> ValidationReport {
        let started = ContinuousClock.now
        func elapsed() -> Double {
            let d = ContinuousClock.now - started
            return Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
        }
        guard let set = rules.ruleSet(for: language) else {
            let known = rules.languages.joined(separator: ", ")
            return ValidationReport(language: language, findings: [], analysis: .none, threshold: options.threshold,
                                    error: AnalysisFailure(code: .unknownLanguage, message: "no rules for language '\(language)'; known: \(known)"),
                                    durationMs: elapsed())
        }
        guard let kind = set.analyzer, let script = rules.analyzerScript(kind), let table = rules.analyzerTable(for: set.language) else {
            let scanned = await scan(code, set: set, options: options)
            return ValidationReport(language: set.language, findings: scanned.findings, analysis: .patterns,
                                    threshold: options.threshold, error: scanned.failure, durationMs: elapsed())
        }
        let bytecode = kind == .python ? rules.pythonBytecode : nil
        let dialect = set.inherits == nil ? nil : set.language
        let outcome = await analyzer.analyze(code: code, kind: kind, dialect: dialect, script: bytecode ?? script,
                                             compiled: bytecode != nil, table: table, options: options)
        switch outcome {
        case .success(let output) where output.error == nil:
            let findings = output.findings.map { finding(from: $0, set: set, options: options) }
                + unauthorizedImports(output.imports, set: set, options: options)
            return ValidationReport(language: set.language, findings: findings, analysis: .syntaxTree, threshold: options.threshold,
                                    truncated: output.truncated, imports: Self.distinct(output.imports.map(\.module)),
                                    durationMs: elapsed())
        case .success(let output):
            let failure = output.error ?? AnalysisFailure(code: .analyzerFailed, message: "the analyzer reported no error and no result")
            return await fallback(code, set: set, failure: failure, options: options, elapsed: elapsed)
        case .failure(let failure):
            return await fallback(code, set: set, failure: failure, options: options, elapsed: elapsed)
        }
    }

    /// The rule set's language for `path`'s extension, if any.
    public func language(forFile path: String) -> String? { rules.ruleSet(forFile: path)?.language }

    private func fallback(_ code: String, set: RuleSet, failure: AnalysisFailure, options: ValidationOptions,
                          elapsed: () -> Double) async -> ValidationReport {
        // A scan that gave up leaves the code unchecked: its failure replaces one that would let
        // the code pass (`unsupported_syntax`), never one that already refuses it (a timeout).
        let scanned = await scan(code, set: set, options: options)
        let error = failure.leavesCodeUnchecked ? failure : scanned.failure ?? failure
        return ValidationReport(language: set.language, findings: scanned.findings, analysis: .patterns,
                                threshold: options.threshold, error: error, durationMs: elapsed())
    }

    /// Pattern scans run on threads of their own (`ScanThreads`), never on the cooperative pool.
    private func scan(_ code: String, set: RuleSet, options: ValidationOptions) async -> (findings: [Finding], failure: AnalysisFailure?) {
        guard let scanner = rules.scanner(for: set.language) else { return (findings: [], failure: nil) }
        return await ScanThreads.shared.run { scanner.scan(code, options: options) }
    }

    private func finding(from raw: AnalyzerOutput.RawFinding, set: RuleSet, options: ValidationOptions) -> Finding {
        let message: (String) -> String = { raw.detail.isEmpty ? $0 : "\($0): \(raw.detail)" }
        guard let rule = rules.rule(raw.rule) else {
            // An id the analyzer knows but the data file lacks: report it rather than drop it.
            return Finding(rule: raw.rule, severity: .high, category: .dynamicCode, message: message("unlisted rule"),
                           line: raw.line, column: raw.column)
        }
        return Finding(rule: rule.id, severity: rule.severity(under: options), category: rule.category,
                       message: message(rule.message), line: raw.line, column: raw.column)
    }

    private static func distinct(_ names: [String]) -> [String] {
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }
}
