import CorralRuntimes
import CorralSandbox

/// Seed 000 `list_languages`: each language with `available` and `version`, plus default and max limits.
public struct LanguagesReport: Sendable, Encodable {
    public struct Entry: Sendable, Encodable {
        var available: Bool
        var version: String?
        var displayName: String
        var aliases: [String]
        var compiled: Bool
        var reason: String?
        enum CodingKeys: String, CodingKey {
            case available, version, aliases, compiled, reason
            case displayName = "display_name"
        }
    }
    var languages: [String: Entry]
    var defaultTimeout: Double
    var maxTimeout: Double
    var defaultMemoryMb: Int
    var maxMemoryMb: Int
    var defaultOutputSize: Int
    var maxOutputSize: Int

    enum CodingKeys: String, CodingKey {
        case languages
        case defaultTimeout = "default_timeout"
        case maxTimeout = "max_timeout"
        case defaultMemoryMb = "default_memory_mb"
        case maxMemoryMb = "max_memory_mb"
        case defaultOutputSize = "default_output_size"
        case maxOutputSize = "max_output_size"
    }
}

extension Engine {
    public func languages() async -> LanguagesReport {
        var entries: [String: LanguagesReport.Entry] = [:]
        for language in runtime.catalog.languages {
            let info = await runtime.versions.info(of: language)
            entries[language.name] = .init(available: info.available, version: info.version, displayName: info.displayName,
                                           aliases: info.aliases, compiled: info.compiled, reason: info.reason)
        }
        let d = configuration.defaultLimits, m = configuration.maximumLimits
        return LanguagesReport(languages: entries, defaultTimeout: d.timeoutSeconds, maxTimeout: m.timeoutSeconds,
                               defaultMemoryMb: d.memoryMB, maxMemoryMb: m.memoryMB,
                               defaultOutputSize: d.outputBytes, maxOutputSize: m.outputBytes)
    }
}
