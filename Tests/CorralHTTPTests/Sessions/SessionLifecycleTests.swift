import CorralEngine
import CorralHTTP
import CorralTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// Sessions end to end on a real port: the walk-through of docs/sessions.md, the idle TTL,
/// the server's limits and its errors. Every test also checks what the host holds afterwards.
@Suite(.enabled(if: TestSupport.jailsAvailable), .serialized)
struct SessionLifecycleTests {
    @Test("create, write, cat, a background server across execs, run_code state, archive, delete: nothing of the session remains")
    func walkThrough() async throws {
        try await TestService().live { client in
            let id = try await client.createSession(["metadata": ["task": "walk"]])
            #expect(SessionHostState.directoryExists(id))
            let (put, _) = try await client.putFile(id, path: "notes/hello.txt", bytes: Array("hello session\n".utf8))
            #expect(put == .ok)
            let (s1, cat) = try await client.exec(id, "cat notes/hello.txt")
            #expect(s1 == .ok)
            #expect(cat["stdout"] as? String == "hello session\n")
            #expect(cat["status"] as? String == "success")

            // A background server (an unusual port marks it on the host) stays alive across later execs.
            let (s2, started) = try await client.exec(id, "exec python3 -m http.server 18731 --bind 127.0.0.1", extra: ["background": true])
            #expect(s2 == .ok)
            let pid = try #require(started["process_id"] as? Int)
            var served = ""
            for _ in 0..<50 where !served.contains("hello session") {
                let (_, fetched) = try await client.exec(id, "python3 -c \"import urllib.request as u; print(u.urlopen('http://127.0.0.1:18731/notes/hello.txt').read().decode())\" 2>/dev/null")
                served = fetched["stdout"] as? String ?? ""
                if !served.contains("hello session") { try await Task.sleep(nanoseconds: 100_000_000) }
            }
            #expect(served.contains("hello session"), "the background server answers a later exec")
            #expect(Self.hostProcesses(matching: "http.server 18731").count == 1, "it runs on the host, in the session's jail")
            let (listed, _, list, _) = try await client.get("/v1/sessions/\(id)/processes")
            #expect(listed == .ok)
            let running = (list["processes"] as? [[String: Any]] ?? []).filter { $0["process_id"] as? Int == pid }
            #expect(running.first?["status"] as? String == "running")

            // Code contexts keep state between calls.
            let (_, _, first) = try await client.post("/v1/sessions/\(id)/run_code", json: ["code": "x = 41"])
            #expect(first["error"] is NSNull)
            let (_, _, second) = try await client.post("/v1/sessions/\(id)/run_code", json: ["code": "x + 1"])
            let result = second["result"] as? [String: Any]
            #expect(result?["text"] as? String == "42")
            #expect(result?["json"] as? Int == 42)

            // The archive holds the file.
            let (zipStatus, type, zip) = try await client.getBytes("/v1/sessions/\(id)/archive?path=notes")
            #expect(zipStatus == .ok)
            #expect(type == "application/zip")
            let listing = try Self.unzipList(zip)
            #expect(listing.contains("hello.txt"), "\(listing)")

            let (_, _, filtered, _) = try await client.get("/v1/sessions?metadata=task%3Dwalk")
            #expect((filtered["sessions"] as? [[String: Any]])?.count == 1)

            let (deleted, _) = try await client.delete("/v1/sessions/\(id)")
            #expect(deleted == .ok)
            #expect(Self.hostProcesses(matching: "http.server 18731").isEmpty, "no process of the session remains")
            #expect(SessionHostState.mounts(containing: id).isEmpty, "no mount of the session remains")
            #expect(!SessionHostState.directoryExists(id), "no directory of the session remains")
            #expect(Self.sessionCgroups(id).isEmpty, "no cgroup of the session remains: \(Self.sessionCgroups(id))")
            let (gone, _, body, _) = try await client.get("/v1/sessions/\(id)")
            #expect(gone == .gone)
            #expect(errorCode(body) == "gone")
        }
    }

    @Test("an idle session is reaped at its TTL (±1 s); POST .../timeout extends it")
    func idleTTL() async throws {
        try await TestService().live { client in
            let short = try await client.createSession(["timeout_seconds": 2])
            let extended = try await client.createSession(["timeout_seconds": 2])
            let start = Date()
            let (s, _, info) = try await client.post("/v1/sessions/\(extended)/timeout", json: ["timeout_seconds": 6])
            #expect(s == .ok)
            #expect(info["timeout_seconds"] as? Double == 6)
            var reapedAfter: Double?
            while Date().timeIntervalSince(start) < 5 {
                if !SessionHostState.directoryExists(short) { reapedAfter = Date().timeIntervalSince(start); break }
                try await Task.sleep(nanoseconds: 50_000_000)
            }
            let after = try #require(reapedAfter, "the idle session was not reaped within 5 s")
            #expect(after >= 1.0 && after <= 3.0, "reaped after \(after) s; its TTL was 2 s")
            let (gone, _, body, _) = try await client.get("/v1/sessions/\(short)")
            #expect(gone == .gone)
            #expect(errorMessage(body).contains("idle"))
            #expect(SessionHostState.directoryExists(extended), "the extended session lives on")
            let (alive, _, _, _) = try await client.get("/v1/sessions/\(extended)")
            #expect(alive == .ok)
            _ = try await client.delete("/v1/sessions/\(extended)")
        }
    }

    @Test("--max-sessions: one more is a 429 limit_reached with Retry-After; a deleted one makes room")
    func maxSessions() async throws {
        try await TestService { $0.sessions.maxSessions = 2 }.live { client in
            let a = try await client.createSession()
            let b = try await client.createSession()
            let (status, headers, body) = try await client.post("/v1/sessions", json: [:])
            #expect(status == .tooManyRequests)
            #expect(errorCode(body) == "limit_reached")
            #expect(headers[.retryAfter] != nil)
            _ = try await client.delete("/v1/sessions/\(a)")
            let c = try await client.createSession()
            for id in [b, c] { _ = try await client.delete("/v1/sessions/\(id)") }
        }
    }

    @Test("bad input: unknown session 404, a path outside the workspace 400 naming it, a host path outside the roots 403, bad limits 400")
    func badInput() async throws {
        try await TestService().live { client in
            let (missing, _, body, _) = try await client.get("/v1/sessions/ses-nope")
            #expect(missing == .notFound)
            #expect(errorCode(body) == "not_found")
            let id = try await client.createSession()
            let (outside, _, o, _) = try await client.get("/v1/sessions/\(id)/files?path=/etc/passwd")
            #expect(outside == .badRequest)
            #expect(errorMessage(o).contains("/etc/passwd"))
            let (forbidden, _, f) = try await client.post("/v1/sessions", json: ["mount": ["host_path": "/etc", "mode": "shadow"]])
            #expect(forbidden == .forbidden)
            #expect(errorCode(f) == "forbidden")
            #expect(errorMessage(f).contains("--allow-host-path"))
            let (limit, _, l) = try await client.post("/v1/sessions", json: ["max_memory_mb": 1_000_000])
            #expect(limit == .badRequest)
            #expect(errorCode(l) == "invalid_limit")
            let (neither, e) = try await client.exec(id, "true", extra: ["code": "print(1)"])
            #expect(neither == .badRequest)
            #expect(errorCode(e) == "invalid_request")
            let (notFound, nf) = try await client.exec(id, "no-such-command-xyz")
            #expect(notFound == .ok)
            #expect(nf["exit_code"] as? Int == 127)
            _ = try await client.delete("/v1/sessions/\(id)")
        }
    }

    @Test("code in a language runs in the session's workspace; stdin, env and cwd reach the command")
    func execForms() async throws {
        try await TestService().live { client in
            let id = try await client.createSession(["environment_vars": ["FROM_SESSION": "s"]])
            let (_, py) = try await client.exec(id, "", extra: ["command": NSNull(), "code": "import os,sys\nprint(os.getcwd(), os.environ['FROM_SESSION'], sys.stdin.read())", "language": "python", "stdin": "in"])
            #expect(py["stdout"] as? String == "/workspace s in\n", "\(py)")
            let (_, js) = try await client.exec(id, "", extra: ["command": NSNull(), "code": "console.log(6*7)", "language": "javascript"])
            #expect(js["stdout"] as? String == "42\n")
            _ = try await client.exec(id, "mkdir -p sub")
            let (_, cwd) = try await client.exec(id, "pwd; echo $EXTRA", extra: ["cwd": "sub", "env": ["EXTRA": "e"]])
            #expect(cwd["stdout"] as? String == "/workspace/sub\ne\n")
            let (_, timed) = try await client.exec(id, "sleep 30", extra: ["timeout_seconds": 0.5])
            #expect(timed["status"] as? String == "timeout")
            let (_, after) = try await client.exec(id, "echo still here")
            #expect(after["stdout"] as? String == "still here\n")
            _ = try await client.delete("/v1/sessions/\(id)")
        }
    }

    @Test("a warm session, taken by a create, has that create's limits and nothing of any other session")
    func warmSessionTakesTheCreatesLimits() async throws {
        let service = try TestService { $0.sessions.warmSessions = 1 }
        try await service.live { client in
            let first = try await client.createSession()
            _ = try await client.exec(first, "echo secret > /workspace/mine && echo secret > /tmp/mine")
            for _ in 0..<100 where service.engine.sessions.warmCount < 1 { try await Task.sleep(nanoseconds: 50_000_000) }
            #expect(service.engine.sessions.warmCount == 1, "a warm session was started after the first create")
            let warm = try await client.createSession(["max_memory_mb": 96, "cpu_percent": 50, "processes": 32])
            #expect(service.engine.sessions.warmCount == 0, "the create took the warm session")
            let (_, seen) = try await client.exec(warm, "ls -A /workspace /tmp; cat /workspace/mine /tmp/mine 2>&1 | head -2")
            #expect(!(seen["stdout"] as? String ?? "secret").contains("secret"), "\(seen)")
            let (_, bomb) = try await client.exec(warm, "python3 -c \"b = []\nwhile True: b.append(bytearray(16 << 20))\"", extra: ["timeout_seconds": 20])
            #expect(bomb["status"] as? String == "memory_limit", "the warm session took max_memory_mb 96: \(bomb)")
            let (_, busy) = try await client.exec(warm, "timeout 1 bash -c 'while :; do :; done'; true", extra: ["timeout_seconds": 10])
            let cpu = busy["cpu_time_ms"] as? Double ?? 0, wall = busy["execution_time_ms"] as? Double ?? 1
            #expect(cpu / wall <= 0.55, "and cpu_percent 50: CPU \(cpu) ms over \(wall) ms")
            let (infoStatus, _, body, _) = try await client.get("/v1/sessions/\(warm)")
            #expect(infoStatus == .ok)
            #expect((body["limits"] as? [String: Any])?["max_memory_mb"] as? Int == 96)
        }
    }

    // MARK: - Host inspection

    /// Host processes whose command line contains `text`.
    static func hostProcesses(matching text: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).contains(text)
        }
    }

    /// The cgroups of session `id` left in any controller (they are named `<server pid>-<id>`).
    static func sessionCgroups(_ id: String) -> [String] {
        let roots = ["/sys/fs/cgroup/memory/corral", "/sys/fs/cgroup/pids/corral", "/sys/fs/cgroup/cpu/corral", "/sys/fs/cgroup/cpu,cpuacct/corral", "/sys/fs/cgroup/corral"]
        return roots.flatMap { root in
            ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { $0 == "\(getpid())-\(id)" }.map { root + "/" + $0 }
        }
    }

    /// Names in a zip's central directory.
    static func unzipList(_ zip: [UInt8]) throws -> [String] {
        let path = NSTemporaryDirectory() + "corral-\(UUID().uuidString).zip"
        try Data(zip).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print('\\n'.join(z.namelist()))", path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw SessionTestError("the archive is not a valid zip") }
        return String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n").map(String.init)
    }
}
