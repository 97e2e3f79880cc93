/// Undoes the quoting tricks shells accept inside a word, so `c''url`,
/// `c\url`, `"cu"rl` and `cu${IFS}rl`-style spacing read as what runs.
enum ShellText {
    static func deobfuscated(_ line: String) -> String {
        let chars = Array(line.replacingOccurrences(of: "${IFS}", with: " ").replacingOccurrences(of: "$IFS", with: " "))
        var out: [Character] = []
        out.reserveCapacity(chars.count)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            let next: Character? = i + 1 < chars.count ? chars[i + 1] : nil
            if (c == "'" || c == "\"") && next == c {
                i += 2 // an empty quoted string adds nothing to the word
                continue
            }
            if c == "\\", let n = next, n.isLetter {
                i += 1 // a backslash before a letter is the letter
                continue
            }
            if c == "'" || c == "\"", let last = out.last, last.isLetter || last.isNumber, let n = next, n.isLetter || n.isNumber {
                i += 1 // a quote inside a word only splits its spelling
                continue
            }
            out.append(c)
            i += 1
        }
        return String(out)
    }
}
