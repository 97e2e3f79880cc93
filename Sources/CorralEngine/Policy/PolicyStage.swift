import CorralPolicy
import CorralSandbox
import Foundation
import Synchronization

/// Step 2 of the pipeline: static validation of the code. The jail enforces
/// safety; this tells the caller early what the code tries to do, and in
/// strict mode refuses to run it before any jail exists. There is always a
/// validator: the engine does not start without one (strict mode never runs
/// unvalidated code).
struct PolicyStage: Sendable {
    private let source: ValidatorSource
    private let cache = ValidationCache()

    init(validator: PolicyValidator) { source = ValidatorSource(ready: validator) }

    /// A stage whose validator is built on first use (a one-shot engine with the policy off never
    /// pays for loading the rules). Should it fail then, every validation reports the analyzer
    /// unavailable, which strict mode refuses: the check fails closed where it is needed.
    init(loading load: @escaping @Sendable () throws(EngineError) -> PolicyValidator) { source = ValidatorSource(load) }

    /// The validator, loading it if it was deferred.
    var validator: Result<PolicyValidator, EngineError> { source.get() }

    /// Kills the validator's warm workers, if it was ever loaded.
    func shutdown() { source.loaded?.shutdown() }

    /// The report for `code`, from the cache when the same code and options were seen recently.
    func validate(code: String, codeHash: String, language: String, options: ValidationOptions) async -> ValidationReport {
        let key = ValidationKey(language: language, codeHash: codeHash, options: options)
        if let cached = cache.get(key) { return cached }
        let validator: PolicyValidator
        switch source.get() {
        case .success(let loaded): validator = loaded
        case .failure(let error):
            return ValidationReport(language: language, findings: [], analysis: .none, threshold: options.threshold,
                                    error: AnalysisFailure(code: .analyzerUnavailable,
                                                           message: "the policy rules could not load: \(error.message)"),
                                    durationMs: 0)
        }
        let report = await validator.validate(code: code, language: language, options: options)
        // A failed analysis may pass on a retry (a timeout under load): only settled reports are kept.
        if report.error == nil || report.error?.leavesCodeUnchecked == false { cache.set(key, report) }
        return report
    }

    /// The decision on `prepared`'s program under its mode: every source file is validated; the
    /// first refusal wins (naming its file when the program has several); warnings are gathered.
    func decide(_ prepared: PreparedRequest) async -> PolicyDecision {
        let mode = prepared.policyMode
        if mode == .off { return .allow }
        guard !prepared.sources.isEmpty else {
            return mode == .strict ? .refuse(reason: "strict mode: the program has no source file to validate", findings: []) : .allow
        }
        var warnings: [Finding] = []
        for source in prepared.sources {
            let report = await validate(code: source.code, codeHash: source.hash, language: prepared.language.name,
                                        options: prepared.validation)
            switch Policy.decide(report, mode: mode, threshold: prepared.validation.threshold) {
            case .allow: continue
            case .warn(let findings): warnings += findings
            case .refuse(let reason, let findings):
                let place = prepared.sources.count > 1 ? "\(source.path): " : ""
                return .refuse(reason: place + reason, findings: findings)
            }
        }
        return warnings.isEmpty ? .allow : .warn(findings: warnings)
    }
}

/// What a validation depends on: the language, the code (by hash) and every option. Compared
/// whole, never by a hash value, so two different option sets can never share a report.
struct ValidationKey: Hashable, Sendable {
    var language: String
    var codeHash: String
    var options: ValidationOptions
}

/// Recent validation reports (bounded; least recently inserted evicted first).
final class ValidationCache: Sendable {
    private let state = Mutex<(entries: [ValidationKey: ValidationReport], order: [ValidationKey])>(([:], []))
    let capacity = 2048

    func get(_ key: ValidationKey) -> ValidationReport? { state.withLock { $0.entries[key] } }

    /// A report or key larger than this is not kept: 2048 of them must stay small (a report's
    /// findings quote the code's module names, a key holds the request's allow-list).
    static let maxEntryBytes = 64 << 10

    func set(_ key: ValidationKey, _ report: ValidationReport) {
        let bytes = report.findings.reduce(0) { $0 + $1.message.utf8.count } + report.imports.reduce(0) { $0 + $1.utf8.count }
            + (key.options.authorizedImports ?? []).reduce(0) { $0 + $1.utf8.count }
        guard bytes <= Self.maxEntryBytes else { return }
        state.withLock { s in
            if s.entries.updateValue(report, forKey: key) == nil { s.order.append(key) }
            if s.order.count > capacity { s.entries[s.order.removeFirst()] = nil }
        }
    }
}

/// A validator given at once, or built on first use (once; its failure is kept).
final class ValidatorSource: Sendable {
    private let load: (@Sendable () throws(EngineError) -> PolicyValidator)?
    private let state: Mutex<Result<PolicyValidator, EngineError>?>

    init(ready: PolicyValidator) {
        load = nil
        state = Mutex(.success(ready))
    }

    init(_ load: @escaping @Sendable () throws(EngineError) -> PolicyValidator) {
        self.load = load
        state = Mutex(nil)
    }

    func get() -> Result<PolicyValidator, EngineError> {
        state.withLock { current in
            if let current { return current }
            let made: Result<PolicyValidator, EngineError>
            if let load {
                do throws(EngineError) { made = .success(try load()) } catch { made = .failure(error) }
            } else {
                made = .failure(EngineError(.internalError, "no validator"))
            }
            current = made
            return made
        }
    }

    /// The validator if it has been built.
    var loaded: PolicyValidator? { state.withLock { try? $0?.get() } }
}
