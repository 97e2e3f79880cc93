extension PolicyValidator {
    /// Modules every program may import whatever the allow-list says (they change only how code compiles).
    static let alwaysAuthorized: Set<String> = ["__future__"]

    /// One `high` finding per import outside `options.authorizedImports` (seed 004). An entry
    /// authorizes its submodules too: `os` covers `os.path`, `fs` covers `fs/promises`.
    func unauthorizedImports(_ imports: [AnalyzerOutput.RawImport], set: RuleSet, options: ValidationOptions) -> [Finding] {
        guard let allowed = options.authorizedImports else { return [] }
        let owner = [set.language] + (set.inherits.map { [$0] } ?? [])
        guard let rule = owner.lazy.compactMap({ self.rules.rule("\($0).policy.unauthorized_import") }).first else { return [] }
        let list = Self.describe(allowed)
        let entries = Set(allowed)
        return imports.filter { !Self.isAuthorized($0.module, by: entries) }.map {
            Finding(rule: rule.id, severity: rule.severity(under: options), category: rule.category,
                    message: "\(rule.message): \(Self.clip($0.module, 200)) (authorized: \(list))", line: $0.line, column: $0.column)
        }
    }

    /// The allow-list as a finding says it: its first 20 entries, each at most 100 characters. It is
    /// repeated in every finding (up to 1000): a list of 2 MiB made one report of gigabytes.
    static func describe(_ allowed: [String]) -> String {
        guard !allowed.isEmpty else { return "none" }
        let shown = allowed.prefix(20).map { clip($0, 100) }.joined(separator: ", ")
        return allowed.count > 20 ? shown + ", … (\(allowed.count) in all)" : shown
    }

    static func clip(_ text: String, _ characters: Int) -> String {
        text.utf8.count <= characters ? text : String(text.prefix(characters)) + "…"
    }

    /// `module` or one of its parents (`os` for `os.path`, `fs` for `fs/promises`) is allowed: a
    /// look-up per parent, not a scan of the list per import.
    static func isAuthorized(_ module: String, by allowed: Set<String>) -> Bool {
        if alwaysAuthorized.contains(module) || allowed.contains(module) { return true }
        var end = module.endIndex
        while let cut = module[..<end].lastIndex(where: { $0 == "." || $0 == "/" }) {
            if allowed.contains(String(module[..<cut])) { return true }
            end = cut
        }
        return false
    }
}
