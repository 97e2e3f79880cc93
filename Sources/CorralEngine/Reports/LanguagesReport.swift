import CorralPolicy
import CorralRuntimes
import CorralSandbox

/// Seed 000 `list_languages` (each language with `available` and `version`, the default and
/// maximum limits) with seed 003's `list_supported_languages` fields (`name`, `extension`,
/// `interpreter` or `compiler`, `security_restrictions`, `total_languages`).
public struct LanguagesReport: Sendable, Encodable {
    public struct Entry: Sendable, Encodable {
        var name: String
        var displayName: String
        var aliases: [String]
        var available: Bool
        var version: String?
        /// Why the language is unavailable.
        var reason: String?
        var compiled: Bool
        /// Seed 003's `extension`: the main source file's, with its dot (`.py`).
        var fileExtension: String
        /// The program that runs the code or the compiled artifact (`python3`, `java`); nil when
        /// the artifact runs by itself (C, Go, Rust).
        var interpreter: String?
        /// The compiler of a compiled language (`javac`, `rustc`); nil when interpreted.
        var compiler: String?
        /// Number of static-analysis rules for the language (seed 003's count); nil without a validator.
        var securityRestrictions: Int?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, aliases, available, version, reason, compiled, interpreter, compiler
            case displayName = "display_name"
            case fileExtension = "extension"
            case securityRestrictions = "security_restrictions"
        }

        /// Every field, `null` included, so clients see one stable shape.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(displayName, forKey: .displayName)
            try c.encode(aliases, forKey: .aliases)
            try c.encode(available, forKey: .available)
            try c.encode(version, forKey: .version)
            try c.encode(reason, forKey: .reason)
            try c.encode(compiled, forKey: .compiled)
            try c.encode(fileExtension, forKey: .fileExtension)
            try c.encode(interpreter, forKey: .interpreter)
            try c.encode(compiler, forKey: .compiler)
            try c.encode(securityRestrictions, forKey: .securityRestrictions)
        }
    }

    var status = ReportStatus.success
    var languages: [String: Entry]
    var totalLanguages: Int
    var defaultTimeout: Double
    var maxTimeout: Double
    var defaultMemoryMb: Int
    var maxMemoryMb: Int
    var defaultOutputSize: Int
    var maxOutputSize: Int
    var defaultCPUPercent: Int
    var maxCPUPercent: Int

    enum CodingKeys: String, CodingKey, CaseIterable {
        case status, languages
        case totalLanguages = "total_languages"
        case defaultTimeout = "default_timeout"
        case maxTimeout = "max_timeout"
        case defaultMemoryMb = "default_memory_mb"
        case maxMemoryMb = "max_memory_mb"
        case defaultOutputSize = "default_output_size"
        case maxOutputSize = "max_output_size"
        case defaultCPUPercent = "default_cpu_percent"
        case maxCPUPercent = "max_cpu_percent"
    }
}

extension Engine {
    public func languages() async -> LanguagesReport {
        var entries: [String: LanguagesReport.Entry] = [:]
        for language in runtime.catalog.languages {
            let info = await runtime.versions.info(of: language)
            let sourceExtension = language.sourceFile.split(separator: ".").last.map(String.init) ?? ""
            let fileExtension = "." + (language.extensions.first ?? sourceExtension)
            let restrictions: Int? = (try? policy.validator.get()).flatMap { Self.ruleCount(of: language.name, in: $0.rules) }
            entries[language.name] = .init(
                name: language.name, displayName: info.displayName, aliases: info.aliases, available: info.available,
                version: info.version, reason: info.reason, compiled: info.compiled, fileExtension: fileExtension,
                interpreter: Self.interpreter(of: language), compiler: Self.compiler(of: language),
                securityRestrictions: restrictions)
        }
        let d = configuration.defaultLimits, m = configuration.maximumLimits
        return LanguagesReport(languages: entries, totalLanguages: entries.count,
                               defaultTimeout: d.timeoutSeconds, maxTimeout: m.timeoutSeconds,
                               defaultMemoryMb: d.memoryMB, maxMemoryMb: m.memoryMB,
                               defaultOutputSize: d.outputBytes, maxOutputSize: m.outputBytes,
                               defaultCPUPercent: d.effectiveCPUPercent, maxCPUPercent: m.effectiveCPUPercent)
    }

    /// The executable of the run command, unless the run command is the compiled artifact itself.
    static func interpreter(of language: Language) -> String? {
        guard let first = language.run.first, !first.contains("{") else { return nil }
        return executableName(first)
    }

    /// The compiler: the executable the language is probed by (`tsc`), else the compile command's.
    static func compiler(of language: Language) -> String? {
        guard let compile = language.compile, let first = language.probeExecutable ?? compile.first else { return nil }
        return executableName(first)
    }

    static func executableName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    /// The rules that apply to `language`: its own and those of the set it inherits.
    static func ruleCount(of language: String, in book: RuleBook) -> Int? {
        guard let set = book.ruleSet(for: language) else { return nil }
        return set.rules.count + (set.inherits.flatMap { book.ruleSet(for: $0)?.rules.count } ?? 0)
    }
}
