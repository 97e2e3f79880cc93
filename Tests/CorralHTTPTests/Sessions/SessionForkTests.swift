import CorralTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// `POST /v1/sessions/{id}/fork`: the fork starts with the source's workspace as it is (files,
/// directories, symlinks; a shadow session's changes over the same host directory), its own
/// processes (none), and the two go their own ways.
@Suite(.enabled(if: TestSupport.jailsAvailable), .serialized)
struct SessionForkTests {
    @Test("a scratch session's fork holds its files and symlinks, none of its processes, and changes apart from it")
    func scratchFork() async throws {
        try await TestService().live { client in
            let source = try await client.createSession(["metadata": ["role": "source"], "environment_vars": ["GREETING": "hi"]])
            _ = try await client.exec(source, "mkdir -p d/e && echo one > d/e/f.txt && ln -s d/e/f.txt link && chmod 700 d && echo x > big")
            let (_, bg) = try await client.exec(source, "sleep 4417", extra: ["background": true])
            #expect(bg["process_id"] is Int)
            let (status, _, fork) = try await client.post("/v1/sessions/\(source)/fork", json: ["metadata": ["role": "fork"]])
            #expect(status == .ok, "\(fork)")
            let forkID = try #require(fork["session_id"] as? String)
            #expect(forkID != source && (fork["metadata"] as? [String: String]) == ["role": "fork"])
            let (_, seen) = try await client.exec(forkID, "cat link; readlink link; stat -c %a d; id -u; echo $GREETING; ps -eo args | grep -c 'sleep 441[7]'")
            #expect(seen["stdout"] as? String == "one\nd/e/f.txt\n700\n1000\nhi\n0\n", "\(seen)")
            _ = try await client.exec(forkID, "echo two > d/e/f.txt && touch only-in-fork")
            let (_, original) = try await client.exec(source, "cat d/e/f.txt; ls only-in-fork 2>&1 | head -c 0; test -e only-in-fork; echo $?")
            #expect(original["stdout"] as? String == "one\n1\n", "the source is untouched by the fork: \(original)")
            let (missing, _, _) = try await client.post("/v1/sessions/nope/fork", json: [:])
            #expect(missing == .notFound)
        }
    }

    @Test("a session with a FIFO in its workspace is not forked partly: 409 naming it")
    func specialFiles() async throws {
        try await TestService().live { client in
            let source = try await client.createSession()
            _ = try await client.exec(source, "mkfifo pipe && echo kept > a.txt")
            let (status, _, reply) = try await client.post("/v1/sessions/\(source)/fork", json: [:])
            #expect(status == .conflict && "\(reply)".contains("pipe"), "\(reply)")
            let (_, _, list, _) = try await client.get("/v1/sessions")
            #expect((list["sessions"] as? [Any])?.count == 1, "the failed fork left no session: \(list)")
        }
    }

    @Test("a shadow session's fork mounts the same directory with the source's changes; the host is never written")
    func shadowFork() async throws {
        let root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("corral-fork-\(UUID().uuidString)")
        let host = root.appendingPathComponent("proj")
        try FileManager.default.createDirectory(at: host, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        for (name, text) in [("a.txt", "a\n"), ("c.txt", "c\n")] { try text.write(to: host.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        try await TestService { $0.sessions.allowedHostRoots = [root.path] }.live { client in
            let source = try await client.createSession(["mount": ["host_path": host.path, "mode": "shadow"]])
            _ = try await client.exec(source, "echo edited > a.txt && mkdir -p new/dir && echo b > new/b.txt && rm c.txt")
            let (status, _, fork) = try await client.post("/v1/sessions/\(source)/fork", json: [:])
            #expect(status == .ok, "\(fork)")
            let forkID = try #require(fork["session_id"] as? String)
            let (_, seen) = try await client.exec(forkID, "cat a.txt new/b.txt; test -d new/dir && echo dir; test -e c.txt || echo gone")
            #expect(seen["stdout"] as? String == "edited\nb\ndir\ngone\n", "\(seen)")
            let (_, _, changes, _) = try await client.get("/v1/sessions/\(forkID)/changes")
            let paths = Set(((changes["changes"] as? [[String: Any]]) ?? []).compactMap { $0["path"] as? String })
            #expect(paths.isSuperset(of: ["a.txt", "c.txt", "new/b.txt"]), "the fork's changes are the source's: \(paths)")
            #expect(try String(contentsOf: host.appendingPathComponent("a.txt"), encoding: .utf8) == "a\n")
            #expect(FileManager.default.fileExists(atPath: host.appendingPathComponent("c.txt").path))
        }
    }
}
