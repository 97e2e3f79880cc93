import CorralPolicy
import CorralTestSupport
import Foundation

/// Fixtures shared by the policy tests: one validator on the test process's sandbox.
enum PolicyTestSupport {
    static let rules: RuleBook = {
        do { return try RuleBook.shipped() } catch { fatalError("the shipped rules do not load: \(error)") }
    }()

    static let validator = PolicyValidator(sandbox: TestSupport.sandbox, rules: rules)

    static func validate(_ code: String, _ language: String = "python",
                         options: ValidationOptions = ValidationOptions()) async -> ValidationReport {
        await validator.validate(code: code, language: language, options: options)
    }

    static func corpusDirectory() -> URL {
        Bundle.module.url(forResource: "Corpus", withExtension: nil)!
    }
}

extension ValidationReport {
    /// Rule ids of the findings, for compact assertions.
    var rules: Set<String> { Set(findings.map(\.rule)) }

    func has(_ rule: String) -> Bool { findings.contains { $0.rule == rule } }

    /// A readable dump for failure messages.
    var dump: String {
        (findings.map { "\($0.line):\($0.column) \($0.severity.rawValue) \($0.rule) \($0.message)" }
            + [error.map { "error: \($0)" } ?? "no error", "analysis: \(analysis.rawValue)"]).joined(separator: "\n")
    }
}
