/// A unified diff of two texts (`diff -u` format, three lines of context), by Myers' O(ND)
/// algorithm. Texts above `maxLines` lines on either side are not diffed line by line.
public enum UnifiedDiff {
    public static let maxLines = 20_000
    /// Edits beyond which the search stops (its memory grows with edits × lines).
    public static let maxEdits = 2_000

    public static func make(old: String, new: String, oldName: String, newName: String) -> String {
        let a = lines(old), b = lines(new)
        if a == b { return "" }
        var out = "--- \(oldName)\n+++ \(newName)\n"
        guard a.count <= maxLines, b.count <= maxLines else {
            return out + "@@ the files differ; more than \(maxLines) lines, not diffed line by line @@\n"
        }
        guard let script = editScript(a, b) else {
            return out + "@@ the files differ in more than \(maxEdits) lines, not diffed line by line @@\n"
        }
        // Group edits into hunks with 3 lines of context.
        var i = 0
        while i < script.count {
            guard script[i].kind != .same else { i += 1; continue }
            var start = i
            var context = 0
            while start > 0 && context < 3 && script[start - 1].kind == .same { start -= 1; context += 1 }
            var end = i
            var sameRun = 0
            while end < script.count {
                if script[end].kind == .same { sameRun += 1; if sameRun > 6 { break } } else { sameRun = 0 }
                end += 1
            }
            end -= max(0, sameRun - 3)
            let hunk = script[start..<end]
            let oldStart = hunk.first?.oldIndex ?? 0, newStart = hunk.first?.newIndex ?? 0
            let oldCount = hunk.filter { $0.kind != .insert }.count, newCount = hunk.filter { $0.kind != .delete }.count
            out += "@@ -\(oldCount == 0 ? oldStart : oldStart + 1),\(oldCount) +\(newCount == 0 ? newStart : newStart + 1),\(newCount) @@\n"
            for e in hunk {
                switch e.kind {
                case .same: out += " " + a[e.oldIndex] + "\n"
                case .delete: out += "-" + a[e.oldIndex] + "\n"
                case .insert: out += "+" + b[e.newIndex] + "\n"
                }
            }
            i = end
        }
        if !old.isEmpty && !old.hasSuffix("\n") || !new.isEmpty && !new.hasSuffix("\n") { out += "\\ No newline at end of file\n" }
        return out
    }

    struct Edit { enum Kind { case same, delete, insert }; var kind: Kind; var oldIndex: Int; var newIndex: Int }

    static func lines(_ s: String) -> [String] {
        var parts = s.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if parts.last == "" { parts.removeLast() }
        return parts
    }

    /// Myers' greedy forward search, keeping each round's frontier to walk the path back. Round d
    /// keeps only diagonals -d...d of the frontier (all that the walk back reads): memory grows with
    /// edits², at most ~4 million Ints, not with edits × lines (2,001 copies of 80,000 Ints, 1.3 GB).
    static func editScript(_ a: [String], _ b: [String]) -> [Edit]? {
        let n = a.count, m = b.count, maxD = n + m
        var v = [Int](repeating: 0, count: 2 * maxD + 2)
        var trace: [[Int]] = []
        var found = false
        for d in 0...maxD {
            if d > maxEdits { return nil }
            trace.append(Array(v[(maxD - d)...(maxD + d)]))
            for k in stride(from: -d, through: d, by: 2) {
                var x = (k == -d || (k != d && v[maxD + k - 1] < v[maxD + k + 1])) ? v[maxD + k + 1] : v[maxD + k - 1] + 1
                var y = x - k
                while x < n && y < m && a[x] == b[y] { x += 1; y += 1 }
                v[maxD + k] = x
                if x >= n && y >= m { found = true; break }
            }
            if found { break }
        }
        var edits: [Edit] = []
        var x = n, y = m
        for d in stride(from: trace.count - 1, through: 0, by: -1) {
            // Round d's window holds diagonal k at k + d.
            let v = trace[d], k = x - y
            let prevK = (k == -d || (k != d && v[k - 1 + d] < v[k + 1 + d])) ? k + 1 : k - 1
            let prevX = d == 0 ? 0 : v[prevK + d], prevY = prevX - prevK
            while x > prevX && y > prevY { x -= 1; y -= 1; edits.append(Edit(kind: .same, oldIndex: x, newIndex: y)) }
            if d > 0 {
                if x == prevX { y -= 1; edits.append(Edit(kind: .insert, oldIndex: x, newIndex: y)) }
                else { x -= 1; edits.append(Edit(kind: .delete, oldIndex: x, newIndex: y)) }
            }
        }
        return edits.reversed()
    }
}
