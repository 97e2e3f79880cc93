import CorralTestSupport
import Foundation
import Testing

/// `corral session` against a running `corral serve`: create over a shadow mount, exec (output,
/// exit code), cp both ways, ls, diff, apply (the host changes only then), rm, and clear errors.
@Suite(.enabled(if: TestSupport.jailsAvailable), .serialized)
struct SessionCommandTests {
    @Test("create, exec, cp, ls, diff, apply, rm: the walk-through of docs/sessions.md from the command line")
    func walkThrough() async throws {
        let host = try CorralCLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: host) }
        try "orig\n".write(to: host.appendingPathComponent("a.txt"), atomically: true, encoding: .utf8)
        let server = try await ReleaseServer.start(binary: CorralCLI.binary, extra: ["--warm-pool", "off", "--allow-host-path", host.path])
        defer { server.stop() }
        let env = ["CORRAL_URL": "http://127.0.0.1:\(server.port)"]
        func corral(_ args: [String], stdin: String = "") async throws -> CorralCLI.Output {
            try await CorralCLI.run(args, stdin: Data(stdin.utf8), environment: env)
        }
        let created = try await corral(["session", "create", "--mount", host.path])
        let id = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(created.exitCode == 0 && id.hasPrefix("ses-"), "\(created)")

        let exec = try await corral(["session", "exec", id, "--", "echo changed > a.txt; echo new > b.txt; echo warn >&2; exit 3"])
        #expect(exec.exitCode == 3 && exec.stderr.contains("warn"), "the command's exit code and stderr: \(exec)")
        let words = try await corral(["session", "exec", id, "--", "printf", "%s|", "two words", "it's"])
        #expect(words.exitCode == 0 && words.stdout == "two words|it's|", "arguments keep their words: \(words)")

        let upload = try await corral(["session", "cp", "-", "\(id):in/up.txt"], stdin: "uploaded\n")
        #expect(upload.exitCode == 0, "\(upload)")
        let download = try await corral(["session", "cp", "\(id):in/up.txt", "-"])
        #expect(download.stdout == "uploaded\n", "\(download)")
        let listed = try await corral(["session", "ls"])
        #expect(listed.stdout.contains(id) && listed.stdout.contains("shadow"), "\(listed)")

        let diff = try await corral(["session", "diff", id])
        #expect(diff.stdout.contains("-orig") && diff.stdout.contains("+changed") && diff.stdout.contains("+++ b/b.txt"), "\(diff)")
        #expect(try String(contentsOf: host.appendingPathComponent("a.txt"), encoding: .utf8) == "orig\n", "the host is untouched before apply")
        let applied = try await corral(["session", "apply", id, "a.txt"])
        #expect(applied.exitCode == 0 && applied.stdout.contains("modified a.txt"), "\(applied)")
        #expect(try String(contentsOf: host.appendingPathComponent("a.txt"), encoding: .utf8) == "changed\n")
        #expect(!FileManager.default.fileExists(atPath: host.appendingPathComponent("b.txt").path), "only the path named was applied")

        let removed = try await corral(["session", "rm", id])
        #expect(removed.exitCode == 0, "\(removed)")
        let gone = try await corral(["session", "exec", id, "--", "true"])
        #expect(gone.exitCode == 64 && gone.stderr.contains("410"), "\(gone)")
        let bad = try await corral(["session", "cp", "a", "b"])
        #expect(bad.exitCode == 64 && bad.stderr.contains("ID:PATH"), "\(bad)")
        let nothing = try await corral(["session", "exec", id])
        #expect(nothing.exitCode == 64, "\(nothing)")
    }
}
