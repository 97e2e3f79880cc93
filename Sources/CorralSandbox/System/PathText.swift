/// Paths split the way the kernel splits them: on the byte '/', never on `Character`s. Swift
/// compares and splits strings by grapheme cluster, and Unicode joins a '/' to a neighbour in one
/// cluster (a prepended U+0600 before it, a skin-tone modifier U+1F3FB after it): split by
/// character, "a\u{600}/.." is one part, while the kernel sees "a؀" and "..". Every check of a
/// path a caller gave goes through these.
extension String {
    /// The parts between '/' bytes (empty ones left out unless `omittingEmpty` is false).
    public func pathParts(omittingEmpty: Bool = true) -> [String] {
        utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: omittingEmpty).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether the path starts with `prefix`, byte for byte.
    public func hasPathPrefix(_ prefix: String) -> Bool { utf8.starts(with: prefix.utf8) }

    /// Whether this is exactly `other`, byte for byte (no canonical equivalence).
    public func isBytewise(_ other: String) -> Bool { utf8.elementsEqual(other.utf8) }

    /// The part after `prefix` (bytewise), or nil.
    public func droppingPathPrefix(_ prefix: String) -> String? {
        guard hasPathPrefix(prefix) else { return nil }
        return String(decoding: utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
    }
}
