import CorralTestSupport
import Foundation
import Testing

/// `corral task` against a running `corral serve`: submit (plain, --wait, --follow), status,
/// output, cancel, and the errors a user meets (no server, a bad file, a refused task).
@Suite(.enabled(if: TestSupport.jailsAvailable), .serialized)
struct TaskCommandTests {
    static let steps = #"{"steps": [{"tool": "shell", "command": "echo first; sleep 0.3; echo second"}, {"tool": "write_file", "path": "r.txt", "content": "kept"}]}"#

    @Test("submit --follow prints the steps' output as it comes and exits 0; output -o writes the zip")
    func followAndOutput() async throws {
        let server = try await ReleaseServer.start(binary: CorralCLI.binary, extra: ["--warm-pool", "off"])
        defer { server.stop() }
        let env = ["CORRAL_URL": "http://127.0.0.1:\(server.port)"]
        let followed = try await CorralCLI.run(["task", "submit", "-", "--follow"], stdin: Data(Self.steps.utf8), environment: env)
        #expect(followed.exitCode == 0, "\(followed)")
        #expect(followed.stdout.hasPrefix("first\nsecond\n"), "the output comes first, then the summary: \(followed.stdout)")
        #expect(followed.stdout.contains(": completed"), "\(followed.stdout)")
        #expect(followed.stderr.contains("step 1/2 (shell) completed") && followed.stderr.contains("step 2/2 (write_file) completed"), "\(followed.stderr)")

        let submitted = try await CorralCLI.run(["task", "submit", "-", "--wait"], stdin: Data(Self.steps.utf8), environment: env)
        #expect(submitted.exitCode == 0 && !submitted.stdout.contains("first"), "--wait alone does not print output: \(submitted)")
        let id = try #require(submitted.stdout.split(separator: " ").dropFirst().first.map { String($0.dropLast()) }, "\(submitted.stdout)")
        let status = try await CorralCLI.run(["task", "status", id, "--json"], environment: env)
        let task = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any], "\(status)")
        #expect(task["status"] as? String == "completed")
        let zip = try CorralCLI.temporaryDirectory().appendingPathComponent("out.zip")
        let output = try await CorralCLI.run(["task", "output", id, "-o", zip.path], environment: env)
        #expect(output.exitCode == 0, "\(output)")
        let bytes = try Data(contentsOf: zip)
        #expect(bytes.starts(with: [0x50, 0x4b, 0x03, 0x04]) && String(decoding: bytes, as: UTF8.self).contains("kept"), "a zip with the step's file")
    }

    @Test("a task that fails exits 1; plain submit prints the id at once; bad input and no server are clear errors")
    func failuresAndErrors() async throws {
        let server = try await ReleaseServer.start(binary: CorralCLI.binary, extra: ["--warm-pool", "off"])
        defer { server.stop() }
        let env = ["CORRAL_URL": "http://127.0.0.1:\(server.port)"]
        let failing = try await CorralCLI.run(["task", "submit", "-", "--wait"], stdin: Data(#"{"steps": [{"tool": "shell", "command": "exit 7"}]}"#.utf8), environment: env)
        #expect(failing.exitCode == 1 && failing.stdout.contains("failed") && failing.stdout.contains("exit code 7"), "\(failing)")

        let long = try await CorralCLI.run(["task", "submit", "-"], stdin: Data(#"{"steps": [{"tool": "shell", "command": "sleep 30"}]}"#.utf8), environment: env)
        let id = long.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(long.exitCode == 0 && id.count == 36, "plain submit prints the id: \(long)")
        let cancelled = try await CorralCLI.run(["task", "cancel", id], environment: env)
        #expect(cancelled.exitCode == 0, "\(cancelled)")
        var final = ""
        for _ in 0..<100 {
            final = try await CorralCLI.run(["task", "status", id], environment: env).stdout
            // The task's own status, not a step's: a step shows cancelled a moment before its task does.
            if final.contains(": cancelled") { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        #expect(final.contains(": cancelled"), "\(final)")

        let refused = try await CorralCLI.run(["task", "submit", "-"], stdin: Data(#"{"steps": [{"tool": "browser"}]}"#.utf8), environment: env)
        #expect(refused.exitCode == 64 && refused.stderr.contains("unknown tool 'browser'"), "\(refused)")
        let missing = try await CorralCLI.run(["task", "status", "no-such-task"], environment: env)
        #expect(missing.exitCode == 64 && missing.stderr.contains("404"), "\(missing)")
        let unreadable = try await CorralCLI.run(["task", "submit", "/nonexistent/task.json"], environment: env)
        #expect(unreadable.exitCode == 64 && unreadable.stderr.contains("cannot read"), "\(unreadable)")
        let noServer = try await CorralCLI.run(["task", "status", "x", "--server", "http://127.0.0.1:1"])
        #expect(noServer.exitCode == 125 && noServer.stderr.contains("cannot reach the server"), "\(noServer)")
        let badURL = try await CorralCLI.run(["task", "status", "x", "--server", "ftp://example"])
        #expect(badURL.exitCode == 64 && badURL.stderr.contains("http://HOST:PORT"), "\(badURL)")
    }
}
