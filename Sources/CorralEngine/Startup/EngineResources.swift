import CorralPolicy
import CorralRuntimes
import CorralSandbox
import Foundation

/// What the engine loads when it starts: the language catalog, the validator's rules and the
/// limit profiles. Each fails the start, naming the file and the reason, rather than leaving the
/// engine with an empty catalog, no profiles or, worse, strict mode without a validator.
enum EngineResources {
    /// The catalog of `configuration.languageCatalogFile`, or the shipped one.
    static func catalog(_ configuration: EngineConfiguration) throws(EngineError) -> LanguageCatalog {
        let catalog: LanguageCatalog
        do { catalog = try LanguageCatalog.load(path: configuration.languageCatalogFile) } catch {
            throw EngineError(.internalError, "cannot start: \(error)")
        }
        guard !catalog.languages.isEmpty else {
            throw EngineError(.internalError, "cannot start: the language catalog \(configuration.languageCatalogFile ?? "languages.json") lists no language")
        }
        return catalog
    }

    /// A validator with the rules of `configuration.policyResourcesDirectory` (or the shipped
    /// ones), whose syntax-tree analyzers run in `sandbox`'s jails.
    static func validator(sandbox: Sandbox, configuration: EngineConfiguration) throws(EngineError) -> PolicyValidator {
        let rules: RuleBook
        do throws(PolicyError) {
            if let path = configuration.policyResourcesDirectory {
                rules = try RuleBook.load(directory: URL(fileURLWithPath: path, isDirectory: true))
            } else {
                rules = try RuleBook.shipped()
            }
        } catch {
            throw EngineError(.internalError, "cannot start: the validator's rules do not load: \(error.message)")
        }
        return PolicyValidator(sandbox: sandbox, rules: rules, workers: configuration.analyzerWorkers)
    }

    /// The profiles of `profiles.json` (in `policyResourcesDirectory`, or shipped) with the
    /// configuration's own on top, keyed by name; each profile's CPU share becomes its limit.
    static func profiles(_ configuration: EngineConfiguration) throws(EngineError) -> [String: Profile] {
        let directory = configuration.policyResourcesDirectory.map { URL(fileURLWithPath: $0, isDirectory: true) }
        let loaded: ProfileCatalog
        do throws(PolicyError) { loaded = try ProfileCatalog.load(directory: directory) } catch {
            throw EngineError(.internalError, "cannot start: the limit profiles do not load: \(error.message)")
        }
        var profiles: [String: Profile] = [:]
        for profile in loaded.profiles + configuration.profiles.values.sorted(by: { $0.name < $1.name }) {
            profiles[profile.name] = try withCPUShare(profile, maximum: configuration.maximumLimits)
        }
        return profiles
    }

    /// `profile` with its `max_cpu_percent` (seed 003) as the CPU share of its runs. The share is
    /// enforced by the sandbox, so a value it cannot apply fails the start rather than being dropped.
    static func withCPUShare(_ profile: Profile, maximum: ResourceLimits) throws(EngineError) -> Profile {
        guard let percent = profile.maxCPUPercent else { return profile }
        let allowed = 1...maximum.effectiveCPUPercent
        guard percent.isFinite, let whole = Int(exactly: percent.rounded()), allowed.contains(whole) else {
            throw EngineError(.internalError, "cannot start: profile \(profile.name) has max_cpu_percent \(percent); "
                + "allowed \(allowed.lowerBound)...\(allowed.upperBound) on this host (100 per core)")
        }
        var resolved = profile
        if resolved.limits.cpuPercent == nil { resolved.limits.cpuPercent = whole }
        return resolved
    }
}
