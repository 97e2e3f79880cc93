/// Rules on request text that the decoder checks and the schema states as patterns, built from
/// one definition each so that the server and `/openapi.json` accept exactly the same strings.
public enum RequestText {
    /// The scalars that make code blank: exactly what `trimmingCharacters(in: .whitespacesAndNewlines)`
    /// removes (Unicode `Zs`, tab, the newlines U+000A–U+000D, U+0085, U+2028, U+2029, and U+200B,
    /// which Foundation counts as a space; the coverage test holds the two sets equal).
    static let blankScalars: [ClosedRange<UInt32>] = [
        0x09...0x0D, 0x20...0x20, 0x85...0x85, 0xA0...0xA0, 0x1680...0x1680, 0x2000...0x200B,
        0x2028...0x2029, 0x202F...0x202F, 0x205F...0x205F, 0x3000...0x3000,
    ]

    /// Whether `text` holds nothing but blank scalars (an empty string included).
    public static func isBlank(_ text: String) -> Bool {
        !text.unicodeScalars.contains { scalar in !blankScalars.contains { $0.contains(scalar.value) } }
    }

    /// Matches a string holding at least one scalar that is not blank (JSON Schema patterns are unanchored).
    public static var nonBlankPattern: String {
        "[^" + blankScalars.map { r in r.count == 1 ? escape(r.lowerBound) : escape(r.lowerBound) + "-" + escape(r.upperBound) }.joined() + "]"
    }

    /// Whether `text` holds a NUL, which no argument or environment string can carry across `execve`.
    public static func hasNUL(_ text: String) -> Bool { text.utf8.contains(0) }

    /// Matches a string without NUL.
    public static let noNULPattern = "^[^\\u0000]*$"

    /// Matches an environment variable name: not empty, without '=' or NUL.
    public static let variableNamePattern = "^[^=\\u0000]+$"

    /// Matches exactly one of `names`, in any letter case, as the catalog's lookup does (it lowercases).
    public static func anyCasePattern(_ names: [String]) -> String {
        "^(?:" + names.map { name in
            name.map { c -> String in
                let lower = String(c).lowercased(), upper = String(c).uppercased()
                guard lower != upper else { return "^$\\.*+?()[]{}|/".contains(c) ? "\\" + String(c) : String(c) }
                // U+212A KELVIN SIGN lowercases to "k" too.
                return "[" + lower + upper + (lower == "k" ? "\\u212a" : "") + "]"
            }.joined()
        }.joined(separator: "|") + ")$"
    }

    private static func escape(_ value: UInt32) -> String {
        let hex = String(value, radix: 16)
        return "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}
