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
    let validator: PolicyValidator
    private let cache = ValidationCache()

    init(validator: PolicyValidator) { self.validator = validator }

    /// The report for `code`, from the cache when the same code and options were seen recently.
    func validate(code: String, codeHash: String, language: String, options: ValidationOptions) async -> ValidationReport {
        let key = ValidationKey(language: language, codeHash: codeHash, options: options)
        if let cached = cache.get(key) { return cached }
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

    func set(_ key: ValidationKey, _ report: ValidationReport) {
        state.withLock { s in
            if s.entries.updateValue(report, forKey: key) == nil { s.order.append(key) }
            if s.order.count > capacity { s.entries[s.order.removeFirst()] = nil }
        }
    }
}
