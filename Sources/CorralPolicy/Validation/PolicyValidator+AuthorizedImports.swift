extension PolicyValidator {
    /// Modules every program may import whatever the allow-list says (they change only how code compiles).
    static let alwaysAuthorized: Set<String> = ["__future__"]

    /// One `high` finding per import outside `options.authorizedImports` (seed 004). An entry
    /// authorizes its submodules too: `os` covers `os.path`, `fs` covers `fs/promises`.
    func unauthorizedImports(_ imports: [AnalyzerOutput.RawImport], set: RuleSet, options: ValidationOptions) -> [Finding] {
        guard let allowed = options.authorizedImports else { return [] }
        let owner = [set.language] + (set.inherits.map { [$0] } ?? [])
        guard let rule = owner.lazy.compactMap({ self.rules.rule("\($0).policy.unauthorized_import") }).first else { return [] }
        let list = allowed.isEmpty ? "none" : allowed.joined(separator: ", ")
        return imports.filter { !Self.isAuthorized($0.module, by: allowed) }.map {
            Finding(rule: rule.id, severity: rule.severity(under: options), category: rule.category,
                    message: "\(rule.message): \($0.module) (authorized: \(list))", line: $0.line, column: $0.column)
        }
    }

    static func isAuthorized(_ module: String, by allowed: [String]) -> Bool {
        if alwaysAuthorized.contains(module) { return true }
        return allowed.contains { entry in
            module == entry || module.hasPrefix(entry + ".") || module.hasPrefix(entry + "/")
        }
    }
}
