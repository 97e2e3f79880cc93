/// One entry of a language's rule set (`Resources/rules/<language>.json`).
///
/// A rule fires on a pattern (pattern-based languages, and the fallback when a
/// syntax tree cannot be had), on an import, or on a reference to a qualified
/// name (`os.system`, `subprocess.*`, `global.eval`) found by the language's
/// analyzer. Rules with none of these are raised by the analyzer itself (its
/// special checks: obfuscated access, paths written outside the workspace, …).
public struct Rule: Sendable, Codable, Hashable {
    /// `<language>.<category>.<name>`, stable across releases.
    public var id: String
    public var category: FindingCategory
    /// Severity under the default policy: no network, read-only workspace.
    public var severity: Severity
    /// Severity when the request allows the rule's category (`allow_network` for network rules,
    /// `allow_filesystem` for filesystem rules). Defaults to two levels below `severity`.
    public var allowedSeverity: Severity?
    /// What the code does, as a user reads it ("runs a shell command").
    public var message: String
    /// A regular expression (ICU syntax) matched line by line, comments excluded.
    public var pattern: String?
    /// Modules whose import (or a submodule's) is a finding of this rule.
    public var imports: [String]?
    /// Qualified names whose use is a finding; a trailing `*` matches any continuation.
    public var names: [String]?

    public init(id: String, category: FindingCategory, severity: Severity, allowedSeverity: Severity? = nil,
                message: String, pattern: String? = nil, imports: [String]? = nil, names: [String]? = nil) {
        self.id = id
        self.category = category
        self.severity = severity
        self.allowedSeverity = allowedSeverity
        self.message = message
        self.pattern = pattern
        self.imports = imports
        self.names = names
    }

    enum CodingKeys: String, CodingKey {
        case id, category, severity, message, pattern, imports, names
        case allowedSeverity = "allowed_severity"
    }

    /// The severity this rule's findings have under `options`.
    public func severity(under options: ValidationOptions) -> Severity {
        let allowed = (category == .network && options.allowNetwork) || (category == .filesystem && options.allowFilesystem)
        return allowed ? (allowedSeverity ?? severity.shifted(by: -2)) : severity
    }
}
