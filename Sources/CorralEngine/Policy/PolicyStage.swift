import CorralPolicy
import CorralSandbox
import Foundation
import Synchronization

/// Step 2 of the pipeline: static validation of the code. The jail enforces
/// safety; this tells the caller early what the code tries to do, and in
/// strict mode refuses to run it before any jail exists.
struct PolicyStage: Sendable {
    let validator: PolicyValidator?
    private let cache = ValidationCache()

    init(validator: PolicyValidator?) { self.validator = validator }

    /// The report for `code`, from the cache when the same code and options were seen recently.
    func validate(code: String, codeHash: String, language: String, options: ValidationOptions) async -> ValidationReport? {
        guard let validator else { return nil }
        let key = "\(language)|\(codeHash)|\(options.hashValue)"
        if let cached = cache.get(key) { return cached }
        let report = await validator.validate(code: code, language: language, options: options)
        if report.error == nil || report.error?.leavesCodeUnchecked == false { cache.set(key, report) }
        return report
    }
}

/// Recent validation reports (bounded; least recently inserted evicted first).
final class ValidationCache: Sendable {
    private let state = Mutex<(entries: [String: ValidationReport], order: [String])>(([:], []))
    let capacity = 2048

    func get(_ key: String) -> ValidationReport? { state.withLock { $0.entries[key] } }

    func set(_ key: String, _ report: ValidationReport) {
        state.withLock { s in
            if s.entries.updateValue(report, forKey: key) == nil { s.order.append(key) }
            if s.order.count > capacity { s.entries[s.order.removeFirst()] = nil }
        }
    }
}
