import CorralPolicy
import CorralTestSupport
import Foundation
import Testing

/// Acceptance 1: recall on the dangerous programs and false positives on the
/// benign ones, at the default threshold, over the labelled corpus.
@Suite(.enabled(if: TestSupport.jailsAvailable))
struct CorpusTests {
    struct Entry: Decodable, Sendable {
        var file: String
        var language: String
        var label: String
        var form: String?
    }

    struct Manifest: Decodable { var programs: [Entry] }

    static func manifest() throws -> [Entry] {
        let url = PolicyTestSupport.corpusDirectory().appendingPathComponent("manifest.json")
        return try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: url)).programs
    }

    @Test func corpusIsLargeEnoughAndLabelled() throws {
        let entries = try Self.manifest()
        #expect(entries.count >= 60)
        for language in ["python", "javascript", "bash"] {
            #expect(entries.contains { $0.language == language && $0.label == "dangerous" })
            #expect(entries.contains { $0.language == language && $0.label == "benign" })
        }
        #expect(entries.allSatisfy { $0.label == "dangerous" || $0.label == "benign" })
    }

    @Test func recallAndFalsePositivesAtTheDefaultThreshold() async throws {
        let entries = try Self.manifest()
        let directory = PolicyTestSupport.corpusDirectory()
        let reports = try await withThrowingTaskGroup(of: (Entry, ValidationReport).self) { group in
            var results: [(Entry, ValidationReport)] = []
            var pending = entries[...]
            for _ in 0..<4 {
                guard let e = pending.popFirst() else { break }
                let code = try String(contentsOf: directory.appendingPathComponent(e.file), encoding: .utf8)
                group.addTask { (e, await PolicyTestSupport.validate(code, e.language)) }
            }
            while let result = try await group.next() {
                results.append(result)
                if let e = pending.popFirst() {
                    let code = try String(contentsOf: directory.appendingPathComponent(e.file), encoding: .utf8)
                    group.addTask { (e, await PolicyTestSupport.validate(code, e.language)) }
                }
            }
            return results
        }
        let dangerous = reports.filter { $0.0.label == "dangerous" }
        let benign = reports.filter { $0.0.label == "benign" }
        let missed = dangerous.filter { $0.1.isSafe }
        let falseAlarms = benign.filter { !$0.1.isSafe }
        let recall = Double(dangerous.count - missed.count) / Double(dangerous.count)
        let falsePositiveRate = Double(falseAlarms.count) / Double(benign.count)
        print(String(format: "corpus: recall %.3f (%d/%d dangerous found), false positives %.3f (%d/%d benign flagged)",
                     recall, dangerous.count - missed.count, dangerous.count, falsePositiveRate, falseAlarms.count, benign.count))
        for language in ["python", "javascript", "bash"] {
            let d = dangerous.filter { $0.0.language == language }
            let b = benign.filter { $0.0.language == language }
            print("corpus \(language): \(d.filter { !$0.1.isSafe }.count)/\(d.count) dangerous found, "
                  + "\(b.filter { !$0.1.isSafe }.count)/\(b.count) benign flagged")
        }
        for (e, r) in missed { print("missed \(e.file) (\(e.form ?? "")):\n\(r.dump)") }
        for (e, r) in falseAlarms { print("false alarm \(e.file):\n\(r.dump)") }
        #expect(recall >= 0.95)
        #expect(falsePositiveRate <= 0.05)
    }
}
