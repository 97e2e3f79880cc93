import Foundation

/// The code of a model's reply: its fenced blocks (```python, ```py, ``` with no language, or
/// seed 004's `Code:` … `<end_code>`), joined in order. Prose around them is ignored; blocks in
/// another language (```bash, ```json) are not Python and are skipped.
public enum CodeBlocks {
    /// The languages of a fence whose code runs (a bare fence included).
    static let pythonFences: Set<String> = ["", "python", "py", "python3", "ipython"]

    public static func extract(_ reply: String) -> String? {
        var blocks: [String] = []
        var current: [Substring]?
        var language = ""
        for line in reply.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if current == nil, trimmed.hasPrefix("```") {
                language = trimmed.dropFirst(3).trimmingCharacters(in: .whitespaces).lowercased()
                current = []
            } else if current != nil, trimmed.hasPrefix("```") || trimmed == "<end_code>" {
                if Self.pythonFences.contains(language), let body = current, !body.isEmpty {
                    blocks.append(dedented(body))
                }
                current = nil
            } else if current != nil {
                current?.append(line)
            }
        }
        // An unclosed fence at the end of a reply (the model was cut off): its code still counts.
        if let body = current, Self.pythonFences.contains(language), !body.isEmpty {
            blocks.append(dedented(body))
        }
        let code = blocks.joined(separator: "\n\n")
        return code.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : code
    }

    /// The block without the indentation all its lines share (a block indented in a list item),
    /// and without blank lines around it; Python's own indentation stays.
    static func dedented(_ lines: [Substring]) -> String {
        guard let first = lines.firstIndex(where: { !$0.allSatisfy(\.isWhitespace) }),
              let last = lines.lastIndex(where: { !$0.allSatisfy(\.isWhitespace) }) else { return "" }
        let body = lines[first...last]
        let common = body.filter { !$0.allSatisfy(\.isWhitespace) }.map { $0.prefix(while: { $0 == " " || $0 == "\t" }).count }.min() ?? 0
        return body.map { $0.count >= common ? String($0.dropFirst(common)) : "" }.joined(separator: "\n")
    }
}
