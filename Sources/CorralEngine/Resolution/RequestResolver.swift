import CorralPolicy
import CorralRuntimes
import CorralSandbox
import Foundation

/// Step 1 of the pipeline, the same for every front end: a request's language, profile, limits,
/// environment, policy and history query, resolved against the configuration. Each rule exists
/// here once; every refusal is an `EngineError` that names the field and says what to fix.
struct RequestResolver: Sendable {
    let configuration: EngineConfiguration
    let catalog: LanguageCatalog

    /// The catalog's language for a name or alias (any case).
    func language(named name: String) throws(EngineError) -> Language {
        guard let language = catalog.language(named: name) else {
            throw EngineError(.unknownLanguage, "unknown language '\(name)'; available: \(catalog.names.joined(separator: ", "))",
                              field: "language")
        }
        return language
    }

    /// Refuses code larger than `maxCodeBytes`.
    func checkSize(ofCode code: String) throws(EngineError) {
        let bytes = code.utf8.count
        guard bytes <= configuration.maxCodeBytes else {
            throw EngineError(.payloadTooLarge, "code is \(bytes) bytes; the limit is \(configuration.maxCodeBytes)", field: "code")
        }
    }

    /// The profile named `name` (any case), nil when the request names none.
    func profile(named name: String?) throws(EngineError) -> Profile? {
        guard let name else { return nil }
        let names = configuration.profiles.keys.sorted()
        guard let key = names.first(where: { $0.caseInsensitiveCompare(name) == .orderedSame }),
              let profile = configuration.profiles[key] else {
            throw EngineError(.invalidRequest, "unknown profile '\(name)'; available: \(names.joined(separator: ", "))", field: "profile")
        }
        return profile
    }

    /// The severity named `name` (any case), nil when the request names none.
    func threshold(_ name: String?) throws(EngineError) -> Severity? {
        guard let name else { return nil }
        guard let severity = Severity(rawValue: name.lowercased()) else {
            let allowed = Severity.allCases.map(\.rawValue).joined(separator: ", ")
            throw EngineError(.invalidRequest, "threshold must be one of \(allowed); got '\(name)'", field: "threshold")
        }
        return severity
    }

    /// The program's environment, sorted by name. A name must be non-empty and hold neither '='
    /// (it would end the name early) nor NUL, and no value may hold NUL (`execve` cannot pass it).
    func environment(_ variables: [String: String]?) throws(EngineError) -> [(key: String, value: String)] {
        let sorted = (variables ?? [:]).sorted { $0.key < $1.key }
        for (key, value) in sorted {
            let shown = key.replacingOccurrences(of: "\u{0}", with: "\\0")
            if key.isEmpty {
                throw EngineError(.invalidRequest, "an environment variable name is empty; give each variable a name", field: "environment_vars")
            }
            if key.contains("=") {
                throw EngineError(.invalidRequest, "environment variable name '\(shown)' contains '=': a name ends at the first '='",
                                  field: "environment_vars")
            }
            if key.utf8.contains(0) || value.utf8.contains(0) {
                throw EngineError(.invalidRequest, "environment variable '\(shown)' contains a NUL byte, which an environment cannot hold",
                                  field: "environment_vars")
            }
        }
        return sorted.map { (key: $0.key, value: $0.value) }
    }
}
