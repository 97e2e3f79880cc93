import Foundation

/// All rule sets, loaded from `Resources/rules/*.json`, with their patterns
/// compiled and the tables the syntax-tree analyzers read. Build it once.
public struct RuleBook: Sendable {
    public let ruleSets: [RuleSet]
    /// Path patterns that make any use of a path a finding (`sensitive_paths.json`).
    public let sensitivePaths: [String]
    private let scanners: [String: PatternScanner]
    private let rulesByID: [String: Rule]
    private let analyzerTables: [String: [UInt8]]
    private let analyzerScripts: [RuleSet.Analyzer: [UInt8]]
    private let givenBytecode: [UInt8]?
    /// The Python analyzer's source file, compiled on first use (`pythonBytecode`).
    private var pythonScript: URL?

    /// The Python analyzer compiled by the host's interpreter, when that worked. Compiled on first
    /// use, once per process: a front end that never analyses Python (`corral run` with the policy
    /// off) does not start an interpreter for it.
    var pythonBytecode: [UInt8]? { givenBytecode ?? pythonScript.flatMap(PythonBytecode.cached(file:)) }

    /// Loads the rule sets of `directory` (a directory laid out like the shipped `Resources/`:
    /// `rules/*.json`, `sensitive_paths.json`, the analyzer scripts), or the shipped ones when nil.
    /// Throws naming the file that is missing or invalid.
    public static func load(directory: URL? = nil) throws(PolicyError) -> RuleBook {
        let root = try PolicyResources.directory(directory)
        let rulesDirectory = root.appendingPathComponent("rules")
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: rulesDirectory.path) } catch {
            throw PolicyError(message: "cannot list the rule sets in \(rulesDirectory.path): \(error.localizedDescription)")
        }
        var sets: [RuleSet] = []
        for name in names.sorted() where name.hasSuffix(".json") {
            sets.append(try PolicyResources.decode(RuleSet.self, from: "rules/" + name, in: root))
        }
        guard !sets.isEmpty else {
            throw PolicyError(message: "\(rulesDirectory.path) holds no rule set (*.json): without rules no code can be validated")
        }
        struct SensitivePaths: Decodable { var paths: [String] }
        let sensitive = try PolicyResources.decode(SensitivePaths.self, from: "sensitive_paths.json", in: root).paths
        var scripts: [RuleSet.Analyzer: [UInt8]] = [:]
        for kind in Set(sets.compactMap(\.analyzer)) {
            scripts[kind] = Array(try PolicyResources.data(kind.scriptName, in: root))
        }
        do {
            var book = try RuleBook(ruleSets: sets, sensitivePaths: sensitive, analyzerScripts: scripts)
            if scripts[.python] != nil { book.pythonScript = root.appendingPathComponent(RuleSet.Analyzer.python.scriptName) }
            return book
        } catch {
            throw PolicyError(message: "the rule sets in \(rulesDirectory.path) are not consistent: \(error.message)")
        }
    }

    private static let shippedBook = Result { () throws(PolicyError) -> RuleBook in try load() }

    /// The shipped rule book, loaded once per process.
    public static func shipped() throws(PolicyError) -> RuleBook { try shippedBook.get() }

    /// A rule book from sets given in code (tests, embedders); every pattern must compile.
    public init(ruleSets: [RuleSet], sensitivePaths: [String], analyzerScripts: [RuleSet.Analyzer: [UInt8]] = [:],
                pythonBytecode: [UInt8]? = nil) throws(PolicyError) {
        self.ruleSets = ruleSets
        self.sensitivePaths = sensitivePaths
        self.analyzerScripts = analyzerScripts
        self.givenBytecode = pythonBytecode
        var byID: [String: Rule] = [:]
        var scanners: [String: PatternScanner] = [:]
        var tables: [String: [UInt8]] = [:]
        for set in ruleSets {
            for rule in set.rules {
                if byID.updateValue(rule, forKey: rule.id) != nil {
                    throw PolicyError(message: "rule id \(rule.id) is defined twice")
                }
            }
            var rules = set.rules
            if let parent = set.inherits {
                guard let base = ruleSets.first(where: { $0.language == parent }) else {
                    throw PolicyError(message: "rule set \(set.language) inherits from \(parent), which does not exist")
                }
                rules += base.rules.map { rule in
                    var r = rule
                    r.pattern = rule.pattern.map(base.expand)
                    return r
                }
            }
            scanners[set.language] = try PatternScanner(ruleSet: set, rules: rules)
            if set.analyzer != nil { tables[set.language] = Self.table(for: rules, sensitivePaths: sensitivePaths) }
        }
        self.rulesByID = byID
        self.scanners = scanners
        self.analyzerTables = tables
    }

    /// The set for a language name or alias (case-insensitive).
    public func ruleSet(for language: String) -> RuleSet? {
        let key = language.lowercased()
        return ruleSets.first { $0.language == key || $0.aliases.contains(key) }
    }

    /// The set whose extensions include `path`'s.
    public func ruleSet(forFile path: String) -> RuleSet? {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
        let ext = name[name.index(after: dot)...].lowercased()
        return ruleSets.first { $0.extensions.contains(ext) }
    }

    /// The rule with `id` in any set.
    public func rule(_ id: String) -> Rule? { rulesByID[id] }

    /// Languages with a rule set.
    public var languages: [String] { ruleSets.map(\.language) }

    func scanner(for language: String) -> PatternScanner? { scanners[language] }
    func analyzerTable(for language: String) -> [UInt8]? { analyzerTables[language] }
    func analyzerScript(_ kind: RuleSet.Analyzer) -> [UInt8]? { analyzerScripts[kind] }

    /// The tab-separated table the analyzers read: `I module rule`, `N name rule`, `S path`.
    private static func table(for rules: [Rule], sensitivePaths: [String]) -> [UInt8] {
        var lines: [String] = []
        for rule in rules {
            lines += (rule.imports ?? []).map { "I\t\($0)\t\(rule.id)" }
            lines += (rule.names ?? []).map { "N\t\($0)\t\(rule.id)" }
        }
        lines += sensitivePaths.map { "S\t\($0)" }
        return Array((lines.joined(separator: "\n") + "\n").utf8)
    }
}

extension RuleSet.Analyzer {
    /// The analyzer's file in `Resources/`.
    var scriptName: String {
        switch self {
        case .python: "python_analyzer.py"
        case .javascript: "javascript_analyzer.js"
        }
    }
}
