/// What a validation request may vary (seed 000's `validate_code` payload, seed 003's
/// `strict_mode` threshold, seed 004's `authorized_imports`). Defaults suit an untrusted request.
public struct ValidationOptions: Sendable, Hashable {
    /// Network findings drop to their `allowed_severity` (two levels lower unless a rule says otherwise).
    public var allowNetwork = false
    /// Filesystem findings drop to their `allowed_severity` (writes in the workspace become `low`).
    public var allowFilesystem = false
    /// When set, importing any module outside the list (or a submodule of one in it) is a `high`
    /// finding. Applies to the languages analysed on a syntax tree (Python, JavaScript).
    public var authorizedImports: [String]?
    /// Findings at or above this severity make the code unsafe (`is_safe: false`).
    public var threshold: Severity = .defaultThreshold
    /// Wall-clock limit for one analysis in the jail, in seconds.
    public var timeoutSeconds: Double = 20
    /// Memory for the analyzer's jail, in MiB (a 1 MB Python file needs about 300).
    public var memoryMB: Int = 1024

    public init(allowNetwork: Bool = false, allowFilesystem: Bool = false, authorizedImports: [String]? = nil,
                threshold: Severity = .defaultThreshold) {
        self.allowNetwork = allowNetwork
        self.allowFilesystem = allowFilesystem
        self.authorizedImports = authorizedImports
        self.threshold = threshold
    }
}
