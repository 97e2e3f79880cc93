/// Text a program or a model produced, made inert for a log line or a terminal: control
/// characters (escape sequences, carriage returns, backspaces) written as `\u{XX}` instead of acting.
public enum PlainText {
    /// Tabs stay; newlines stay when `keepingNewlines`, else they are written as `\n`.
    public static func escapingControls(_ text: String, keepingNewlines: Bool = false) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar == "\t" || (keepingNewlines && scalar == "\n") {
                out.append(scalar)
            } else if scalar == "\n" {
                out.append(contentsOf: "\\n".unicodeScalars)
            } else if scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value) {
                out.append(contentsOf: "\\u{\(String(scalar.value, radix: 16))}".unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// At most `maxBytes` of `text`'s UTF-8, cut between two Unicode scalars (never inside a
    /// sequence; not at a grapheme boundary, which can be any distance away); nil when it fits.
    public static func prefix(_ text: String, maxBytes: Int) -> String? {
        guard text.utf8.count > maxBytes else { return nil }
        var bytes = Array(text.utf8.prefix(max(0, maxBytes) + 1))
        var end = max(0, maxBytes)
        while end > 0, bytes[end] & 0xC0 == 0x80 { end -= 1 }
        bytes.removeSubrange(end...)
        return String(decoding: bytes, as: UTF8.self)
    }
}
