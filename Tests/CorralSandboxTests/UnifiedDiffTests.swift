@testable import CorralSandbox
import CorralTestSupport
import Foundation
import Testing

/// The shadow sessions' diff (Myers): applied to the old text it gives the new one, and it changes
/// as few lines as GNU `diff --minimal` does. Random texts from a fixed seed.
@Suite("Unified diff")
struct UnifiedDiffTests {
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        /// SplitMix64: all 64 bits vary (Int.random(in:using:) reads the high ones).
        mutating func next() -> UInt64 {
            state &+= 0x9E3779B97F4A7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
            z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
            return z ^ (z >> 31)
        }
    }

    /// Applies a unified diff (ours: no file headers needed past the first two lines) to `old`.
    static func apply(_ diff: String, to old: [String]) -> [String]? {
        var out: [String] = [], at = 0
        for line in diff.split(separator: "\n", omittingEmptySubsequences: false).dropFirst(2) {
            if line.hasPrefix("@@") {
                guard let minus = line.split(separator: " ").dropFirst().first, let start = Int(minus.dropFirst().split(separator: ",")[0]) else { return nil }
                let count = Int(minus.split(separator: ",").last ?? "") ?? 1
                let begin = count == 0 ? start : start - 1
                guard begin >= at, begin <= old.count else { return nil }
                out += old[at..<begin]
                at = begin
            } else if line.hasPrefix(" ") || line.hasPrefix("-") {
                guard at < old.count, old[at] == String(line.dropFirst()) else { return nil }
                if line.hasPrefix(" ") { out.append(old[at]) }
                at += 1
            } else if line.hasPrefix("+") {
                out.append(String(line.dropFirst()))
            }
        }
        return out + old[at...]
    }

    static func changedLines(_ diff: String) -> Int {
        diff.split(separator: "\n").dropFirst(2).filter { ($0.hasPrefix("+") || $0.hasPrefix("-")) && !$0.hasPrefix("+++") && !$0.hasPrefix("---") }.count
    }

    @Test("200 random pairs of texts: the diff turns the old into the new, with as many changed lines as diff --minimal")
    func randomPairs() throws {
        var random = Seeded(state: 20261202)
        let directory = NSTemporaryDirectory() + "corral-diff-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var compared = 0
        for round in 0..<200 {
            let old = (0..<Int.random(in: 0...40, using: &random)).map { _ in "line \(Int.random(in: 0...8, using: &random))" }
            var new = old
            for _ in 0..<Int.random(in: 0...10, using: &random) {
                let i = Int.random(in: 0...new.count, using: &random)
                switch Int.random(in: 0...2, using: &random) {
                case 0: new.insert("line \(Int.random(in: 0...12, using: &random))", at: i)
                case 1: if i < new.count { new.remove(at: i) }
                default: if i < new.count { new[i] = "edited \(round)" }
                }
            }
            let oldText = old.map { $0 + "\n" }.joined(), newText = new.map { $0 + "\n" }.joined()
            let diff = UnifiedDiff.make(old: oldText, new: newText, oldName: "a", newName: "b")
            if old == new { #expect(diff.isEmpty); continue }
            #expect(Self.apply(diff, to: old) == new, "round \(round):\n\(diff)")
            compared += 1
            try oldText.write(toFile: directory + "/a", atomically: false, encoding: .utf8)
            try newText.write(toFile: directory + "/b", atomically: false, encoding: .utf8)
            let gnu = TestSupport.hostShell("diff --minimal -u '\(directory)/a' '\(directory)/b'").1
            #expect(Self.changedLines(diff) == Self.changedLines(gnu), "round \(round): ours\n\(diff)\nGNU\n\(gnu)")
        }
        #expect(compared >= 150, "only \(compared) of 200 pairs differed")
    }

    @Test("two 20,000-line files 2,000 edits apart are diffed in bounded memory; past that they are summarised")
    func largestDiffed() {
        let old = (0..<20_000).map { "line \($0)" }
        var new = old
        for i in stride(from: 0, to: 20_000, by: 20) { new[i] = "changed \(i)" }  // 1,000 lines changed: 2,000 edits
        let diff = UnifiedDiff.make(old: old.map { $0 + "\n" }.joined(), new: new.map { $0 + "\n" }.joined(), oldName: "a", newName: "b")
        #expect(Self.apply(diff, to: old) == new)
        var more = new
        for i in stride(from: 10, to: 20_000, by: 20) { more[i] = "changed \(i)" }
        let summary = UnifiedDiff.make(old: old.map { $0 + "\n" }.joined(), new: more.map { $0 + "\n" }.joined(), oldName: "a", newName: "b")
        #expect(summary.contains("not diffed line by line"), "\(summary.prefix(300))")
    }
}
