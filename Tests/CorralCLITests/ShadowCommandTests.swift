import CorralTestSupport
import Foundation
import Testing

/// `corral shadow`: a command on a copy-on-write shadow of a directory; the diff; the changes
/// written back only with --apply (never when stdin is not a terminal and --apply is absent).
@Suite(.enabled(if: TestSupport.jailsAvailable), .serialized)
struct ShadowCommandTests {
    @Test("without --apply the diff is printed and the directory is untouched; with --apply it is written")
    func diffThenApply() async throws {
        let dir = try CorralCLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("a.txt")
        try "one\ntwo\n".write(to: file, atomically: true, encoding: .utf8)
        let dry = try await CorralCLI.run(["shadow", "--dir", dir.path, "--", "sed -i s/two/TWO/ a.txt && echo new > b.txt && rm -f nothing"])
        #expect(dry.exitCode == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("-two\n+TWO") && dry.stdout.contains("+++ b/b.txt"), "\(dry.stdout)")
        #expect(dry.stderr.contains("not applied"))
        #expect(try String(contentsOf: file, encoding: .utf8) == "one\ntwo\n", "the directory was not written")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("b.txt").path))

        let applied = try await CorralCLI.run(["shadow", "--dir", dir.path, "--apply", "--", "sed", "-i", "s/two/TWO/", "a.txt"])
        #expect(applied.exitCode == 0, "\(applied.stderr)")
        #expect(try String(contentsOf: file, encoding: .utf8) == "one\nTWO\n")

        let failed = try await CorralCLI.run(["shadow", "--dir", dir.path, "--", "exit 3"])
        #expect(failed.exitCode == 3, "the command's own status: \(failed.stderr)")
        let usage = try await CorralCLI.run(["shadow", "--dir", dir.path])
        #expect(usage.exitCode == 64)
    }
}
