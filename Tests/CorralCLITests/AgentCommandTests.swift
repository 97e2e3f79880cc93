import CorralTestSupport
import Foundation
import Testing

/// `corral agent` as a user runs it, against a scripted OpenAI-compatible model.
@Suite("corral agent", .enabled(if: TestSupport.jailsAvailable), .serialized)
struct AgentCommandTests {
    static func tree(_ files: [String: String]) throws -> String {
        let root = NSTemporaryDirectory() + "corral-agent-cli-\(UUID().uuidString.prefix(8))"
        for (path, text) in files {
            let url = URL(fileURLWithPath: root + "/" + path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        chmod(root, 0o755)
        return root
    }

    static let codemodReplies: [ScriptedModel.Reply] = [
        .code("print(apply_changes(r'old_name', 'new_name'))"),
        .code("final_answer('renamed in 3 files')"),
    ]
    static let files = ["a.py": "old_name = 1\n", "b.py": "print(old_name)\n", "c/d.py": "old_name()\n"]

    @Test("codemod without a terminal: progress on stderr, the answer and the diff on stdout, nothing written; --apply writes it")
    func codemodReviewsThenApplies() async throws {
        let root = try Self.tree(Self.files)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let model = try ScriptedModel(Self.codemodReplies)
        defer { model.stop() }
        let environment = ["CORRAL_LLM_URL": model.url, "CORRAL_LLM_MODEL": "scripted", "CORRAL_LLM_API_KEY": "k-secret"]
        let dry = try await CorralCLI.run(["agent", "codemod", "rename old_name to new_name", "--dir", root, "--transcript", root + ".json"],
                                          environment: environment)
        #expect(dry.exitCode == 0, "\(dry.stderr)")
        #expect(dry.stdout.hasPrefix("renamed in 3 files\n"), "\(dry.stdout)")
        #expect(dry.stdout.contains("+new_name = 1") && dry.stdout.contains("+print(new_name)") && dry.stdout.contains("+new_name()"), "\(dry.stdout)")
        #expect(dry.stderr.contains("step 1/15: asking the model") && dry.stderr.contains("answered after 2 step(s)"), "\(dry.stderr)")
        #expect(dry.stderr.contains("not applied (nothing was written"), "\(dry.stderr)")
        #expect(!dry.stderr.contains("k-secret") && !dry.stdout.contains("k-secret"), "the key is never printed")
        #expect(try String(contentsOfFile: root + "/a.py", encoding: .utf8) == "old_name = 1\n", "nothing written without --apply")
        let transcript = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: root + ".json"))) as? [String: Any]
        #expect(transcript?["answer"] as? String == "renamed in 3 files")
        try? FileManager.default.removeItem(atPath: root + ".json")

        try model.setReplies(Self.codemodReplies)
        let applied = try await CorralCLI.run(["agent", "codemod", "rename old_name to new_name", "--dir", root, "--apply"], environment: environment)
        #expect(applied.exitCode == 0, "\(applied.stderr)")
        #expect(applied.stderr.contains("applied 3 change(s)"), "\(applied.stderr)")
        #expect(try String(contentsOfFile: root + "/a.py", encoding: .utf8) == "new_name = 1\n")
        #expect(try String(contentsOfFile: root + "/c/d.py", encoding: .utf8) == "new_name()\n")
    }

    @Test("no model: exit 64 naming --llm-url; an agent that never answers: exit 1 with the reason")
    func failures() async throws {
        let none = try await CorralCLI.run(["agent", "run", "do it"])
        #expect(none.exitCode == 64 && none.stderr.contains("--llm-url"), "\(none)")
        let model = try ScriptedModel([.code("print('thinking')")])
        defer { model.stop() }
        let looping = try await CorralCLI.run(["agent", "run", "loop", "--max-steps", "2", "--llm-url", model.url, "--llm-model", "m"])
        #expect(looping.exitCode == 1, "\(looping)")
        #expect(looping.stderr.contains("no final answer within max_steps (2 steps)"), "\(looping.stderr)")
    }

    @Test("codemod that stops without a final answer: its diff is shown, nothing is written even with --apply")
    func stoppedRunIsNotApplied() async throws {
        let root = try Self.tree(Self.files)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let model = try ScriptedModel([.code("print(apply_changes(r'old_name', 'half_done'))")])
        defer { model.stop() }
        let run = try await CorralCLI.run(["agent", "codemod", "rename", "--dir", root, "--apply", "--max-steps", "1",
                                           "--llm-url", model.url, "--llm-model", "m"])
        #expect(run.exitCode == 1, "\(run)")
        #expect(run.stdout.contains("+half_done = 1"), "the half-made diff is shown: \(run.stdout)")
        #expect(run.stderr.contains("not applied: the agent stopped without a final answer"), "\(run.stderr)")
        #expect(try String(contentsOfFile: root + "/a.py", encoding: .utf8) == "old_name = 1\n")
    }
}
