import CorralEngine
import CorralTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Tasks over HTTP, with real session jails: the seeds' routes verbatim, the task API, events as
/// they happen, queueing under load, cancelling, and what a step cannot do to the task's directory.
@Suite(.enabled(if: TestSupport.jailsAvailable), .serialized)
struct TaskRouteTests {
    /// Seed 001's curl example, byte for byte.
    static let seed001 = """
        {
          "steps": [
            {
              "tool": "shell",
              "command": "ls -la /app"
            },
            {
              "tool": "python",
              "code": "with open(\\"hello.txt\\", \\"w\\") as f: f.write(\\"Hello from the agent!\\")"
            },
            {
              "tool": "shell",
              "command": "cat hello.txt"
            }
          ]
        }
        """

    @Test("seed 001 verbatim: /schedule → task_id, /status?task_id= reaches completed, hello.txt is in output.zip and in cat's stdout")
    func seed001() async throws {
        try await TestService().live { client in
            let (status, _, reply) = try await client.post("/schedule", raw: Self.seed001)
            #expect(status == .ok)
            let id = try #require(reply["task_id"] as? String, "\(reply)")
            #expect(Set(reply.keys) == ["task_id"], "seed 001 answers {task_id} only: \(reply)")
            var seed: [String: Any] = [:]
            for _ in 0..<600 {
                seed = try await client.get("/status?task_id=\(id)").2
                if ["completed", "failed"].contains(seed["status"] as? String ?? "") { break }
                try await Task.sleep(nanoseconds: 50_000_000)
            }
            #expect(seed["status"] as? String == "completed", "\(seed)")
            let log = try #require(seed["log"] as? String)
            let text = try String(contentsOfFile: log, encoding: .utf8)
            #expect(text.split(separator: "\n").count >= 8, "agent.log has a line per action:\n\(text)")
            #expect(text.contains("step 3/3 completed"), "\(text)")

            let task = try await client.waitForTask(id)
            let steps = try #require(task["steps"] as? [[String: Any]])
            #expect(steps.count == 3)
            let cat = try #require(steps[2]["result"] as? [String: Any])
            #expect(cat["stdout"] as? String == "Hello from the agent!", "\(cat)")
            // /app does not exist in a jail: the step failed, and the task went on, as seed 001's agent does.
            #expect(steps[0]["status"] as? String == "failed")
            #expect((steps[0]["result"] as? [String: Any])?["exit_code"] as? Int == 2)

            let (zipStatus, type, zip) = try await client.getBytes("/v1/tasks/\(id)/output.zip")
            #expect(zipStatus == .ok && type == "application/zip")
            let entries = StoredZip.entries(zip)
            #expect(entries["hello.txt"].map { String(decoding: $0, as: UTF8.self) } == "Hello from the agent!", "\(entries.keys.sorted())")
            #expect(entries["agent.log"] != nil && entries["memory.json"] != nil)
            let (_, _, seedZip) = try await client.getBytes("/jobs/\(id)/output.zip")
            #expect(seedZip == zip, "seed 002's path serves the same archive")

            let memoryPath = try #require(seed["memory"] as? String)
            let memory = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: memoryPath))) as? [String: Any])
            #expect((memory["entries"] as? [[String: Any]])?.count == 3, "\(memory)")
        }
    }

    @Test("seed 002: {task} without a model is a 400 saying so; GET /status/{id} has its vocabulary and result path")
    func seed002() async throws {
        try await TestService().live { client in
            let (status, _, reply) = try await client.post("/schedule", json: ["task": "Build me a todo app"])
            #expect(status == .badRequest)
            let message = (reply["error"] as? [String: Any])?["message"] as? String ?? "\(reply)"
            #expect(message.contains("model") && message.contains("steps"), "\(message)")

            let id = try await client.submitTask(["steps": [["tool": "shell", "command": "echo done > out.txt"]]], path: "/schedule")
            _ = try await client.waitForTask(id)
            let (s, _, job, _) = try await client.get("/status/\(id)")
            #expect(s == .ok)
            #expect(Set(job.keys) == ["status", "result", "error"], "\(job)")
            #expect(job["status"] as? String == "complete")
            #expect(job["result"] as? String == "/jobs/\(id)/output.zip")
            #expect(job["error"] is NSNull)
            let (zipStatus, _, zip) = try await client.getBytes("/jobs/\(id)/output.zip")
            #expect(zipStatus == .ok)
            #expect(StoredZip.entries(zip)["out.txt"].map { String(decoding: $0, as: UTF8.self) } == "done\n")
        }
    }

    @Test("events: output lines arrive while the step runs; resuming with Last-Event-ID replays nothing twice")
    func liveEvents() async throws {
        try await TestService().live { client in
            let port = try #require(client.port)
            let id = try await client.submitTask(["steps": [
                ["tool": "shell", "command": "for i in $(seq 1 10); do echo line $i; sleep 0.1; done"],
                ["tool": "python", "code": "print('second')"],
            ]])
            let events = try await SSEClient.read(port: port, path: "/v1/tasks/\(id)/events")
            let names = events.map(\.name)
            #expect(names.first == "task_started" && names.last == "task_finished", "\(names)")
            let lines = events.filter { $0.name == "output" && $0.data.contains("\"step\":0") }
            let finished = try #require(events.first { $0.name == "step_finished" })
            #expect(lines.count >= 5, "the lines come as separate events: \(lines.map(\.data))")
            let first = try #require(lines.first)
            #expect(finished.at - first.at >= 0.5, "the first line arrived \(finished.at - first.at) s before the step ended (it runs 1 s)")
            let ids = events.compactMap(\.id)
            try #require(ids.count >= 8, "\(names)")
            #expect(ids == Array(1...ids.count), "ids count from 1 without gaps: \(ids)")

            let resumeAfter = ids[4]
            let resumed = try await SSEClient.read(port: port, path: "/v1/tasks/\(id)/events", headers: ["Last-Event-ID": "\(resumeAfter)"])
            #expect(resumed.compactMap(\.id) == Array((resumeAfter + 1)...ids.count), "\(resumed.compactMap(\.id))")
            #expect(resumed.map(\.data) == events.dropFirst(5).map(\.data))
            let query = try await SSEClient.read(port: port, path: "/v1/tasks/\(id)/events?last_event_id=\(ids.count - 1)")
            #expect(query.map(\.name) == ["task_finished"])
        }
    }

    @Test("bad input: unknown tool, a path outside the directory, too many steps, unknown language, unknown task → 400/404")
    func badInput() async throws {
        try await TestService(configure: { $0.tasks.maxSteps = 5 }).live { client in
            func refused(_ body: [String: Any]) async throws -> (HTTPResponse.Status, String) {
                let (status, _, reply) = try await client.post("/v1/tasks", json: body)
                return (status, (reply["error"] as? [String: Any])?["message"] as? String ?? "\(reply)")
            }
            var (status, message) = try await refused(["steps": [["tool": "browser", "command": "x"]]])
            #expect(status == .badRequest && message.contains("shell, code, python, typescript, write_file, read_file"), "\(message)")
            for path in ["../escape.txt", "/etc/passwd", "a/../../b", "x\u{0}y", ""] {
                (status, message) = try await refused(["steps": [["tool": "write_file", "path": path, "content": "x"]]])
                #expect(status == .badRequest, "\(path.debugDescription): \(status) \(message)")
            }
            (status, message) = try await refused(["steps": Array(repeating: ["tool": "shell", "command": "true"], count: 6)])
            #expect(status == .badRequest && message.contains("at most 5 steps"), "\(message)")
            (status, message) = try await refused(["steps": [["tool": "code", "language": "cobol", "code": "x"]]])
            #expect(status == .badRequest && message.contains("cobol"), "\(message)")
            (status, message) = try await refused(["steps": [["tool": "shell"]]])
            #expect(status == .badRequest && message.contains("command"), "\(message)")
            (status, message) = try await refused(["steps": [["tool": "shell", "command": "true", "path": "x"]]])
            #expect(status == .badRequest, "\(message)")
            (status, message) = try await refused(["steps": []])
            #expect(status == .badRequest, "\(message)")
            (status, message) = try await refused(["steps": [["tool": "shell", "command": "true"]], "callback_url": "http://127.0.0.1:1/"])
            #expect(status == .badRequest && message.contains("callback"), "\(message)")
            (status, message) = try await refused(["steps": [["tool": "shell", "command": "true", "timeout_seconds": 0]]])
            #expect(status == .badRequest, "\(message)")
            for uri in ["/v1/tasks/nope", "/status/nope", "/status?task_id=nope", "/v1/tasks/nope/events", "/v1/tasks/nope/output.zip",
                        "/jobs/nope/output.zip", "/v1/tasks/nope/files/a.txt"] {
                let (s, _, body, _) = try await client.get(uri)
                #expect(s == .notFound, "\(uri): \(s) \(body)")
            }
            let (s, _, body) = try await client.post("/v1/tasks/nope/cancel", json: [:])
            #expect(s == .notFound, "\(body)")
        }
    }

    @Test("200 tasks of 3 steps submitted at once all complete; waiting ones show their place in the queue")
    func manyTasks() async throws {
        try await TestService(configure: { $0.tasks.maxRunning = 4 }).live { client in
            let body: [String: Any] = ["steps": [
                ["tool": "shell", "command": "echo one > a.txt"], ["tool": "python", "code": "print(open('a.txt').read().strip() + ' two')"],
                ["tool": "read_file", "path": "a.txt"],
            ]]
            let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
            let ids = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<200 {
                    group.addTask {
                        let (status, _, reply) = try await client.post("/v1/tasks", raw: json)
                        guard status == .accepted, let id = reply["task_id"] as? String else { throw TaskTestError("\(status): \(reply)") }
                        return id
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(Set(ids).count == 200)
            let (_, _, page, _) = try await client.get("/v1/tasks?status=scheduled&limit=500")
            let waiting = (page["tasks"] as? [[String: Any]]) ?? []
            #expect(waiting.contains { ($0["queue_position"] as? Int ?? 0) > 0 }, "queued tasks show their position: \(waiting.count) scheduled")
            var failed: [String] = []
            for id in ids {
                let task = try await client.waitForTask(id, seconds: 300)
                if task["status"] as? String != "completed" { failed.append("\(id): \(task["error"] ?? "")") }
                let steps = (task["steps"] as? [[String: Any]]) ?? []
                if (steps.last?["result"] as? [String: Any])?["stdout"] as? String != "one\n" { failed.append("\(id): \(steps)") }
            }
            #expect(failed.isEmpty, "\(failed.count) tasks failed: \(failed.prefix(3))")
            let (_, _, all, _) = try await client.get("/v1/tasks?status=completed&limit=1")
            #expect(all["total"] as? Int == 200)
            #expect(client.port != nil)
        }
    }

    @Test("cancel: the running step's processes die, later steps do not run, the task is cancelled")
    func cancel() async throws {
        try await TestService().live { client in
            let marker = "sleep 6173"
            let id = try await client.submitTask(["steps": [["tool": "shell", "command": marker], ["tool": "shell", "command": "touch ran.txt"]]])
            for _ in 0..<200 where Self.processes(matching: marker).isEmpty { try await Task.sleep(nanoseconds: 50_000_000) }
            #expect(!Self.processes(matching: marker).isEmpty, "the step is running")
            let (status, _, task) = try await client.post("/v1/tasks/\(id)/cancel", json: [:])
            #expect(status == .ok, "\(task)")
            let done = try await client.waitForTask(id, seconds: 20)
            #expect(done["status"] as? String == "cancelled", "\(done)")
            let steps = try #require(done["steps"] as? [[String: Any]])
            #expect(steps.map { $0["status"] as? String } == ["cancelled", "cancelled"], "\(steps)")
            #expect(Self.processes(matching: marker).isEmpty, "the step's process is gone")
            let (again, _, _) = try await client.post("/v1/tasks/\(id)/cancel", json: [:])
            #expect(again == .conflict, "a finished task cannot be cancelled")
        }
    }

    @Test("a failed step stops a /v1/tasks task (continue_on_error false): later steps are skipped")
    func stopsOnFailure() async throws {
        try await TestService().live { client in
            let id = try await client.submitTask(["steps": [["tool": "shell", "command": "exit 3"], ["tool": "shell", "command": "true"]]])
            let task = try await client.waitForTask(id)
            #expect(task["status"] as? String == "failed")
            #expect((task["error"] as? String ?? "").contains("step 1 (shell) failed"), "\(task["error"] ?? "")")
            let steps = try #require(task["steps"] as? [[String: Any]])
            #expect(steps.map { $0["status"] as? String } == ["failed", "skipped"])
            let goesOn = try await client.submitTask(["continue_on_error": true, "steps": [["tool": "shell", "command": "exit 3"], ["tool": "shell", "command": "true"]]])
            let second = try await client.waitForTask(goesOn)
            #expect(second["status"] as? String == "completed")
        }
    }

    @Test("a step's symlinks, FIFOs and own agent.log do not reach the host's task directory or archive")
    func hostileWorkspace() async throws {
        try await TestService().live { client in
            let id = try await client.submitTask(["steps": [["tool": "shell", "command":
                "ln -s /etc/passwd leak && ln -s / root && mkfifo pipe && printf '\\x46ORGED' > agent.log && mkdir -p d && ln -s /etc d/shadow && echo ok > d/real.txt"]]])
            let task = try await client.waitForTask(id)
            #expect(task["status"] as? String == "completed", "\(task)")
            let directory = try #require(task["directory"] as? String)
            for name in ["leak", "root", "pipe", "d/shadow"] {
                var st = stat()
                #expect(lstat(directory + "/" + name, &st) != 0, "\(name) was left out of the task directory")
            }
            #expect(try String(contentsOfFile: directory + "/d/real.txt", encoding: .utf8) == "ok\n")
            let log = try String(contentsOfFile: directory + "/agent.log", encoding: .utf8)
            #expect(!log.contains("FORGED") && log.contains("completed"), "the server's log is its own: \(log)")
            let (_, _, zip) = try await client.getBytes("/v1/tasks/\(id)/output.zip")
            let entries = StoredZip.entries(zip)
            #expect(entries["leak"] == nil && entries["root/"] == nil && entries["d/shadow"] == nil, "\(entries.keys.sorted())")
            #expect(!entries.values.contains { String(decoding: $0, as: UTF8.self).contains("root:x:0:0") }, "no host file in the archive")
            let (s, _, _) = try await client.getBytes("/v1/tasks/\(id)/files/leak")
            #expect(s == .notFound)
            let (ok, _, real) = try await client.getBytes("/v1/tasks/\(id)/files/d/real.txt")
            #expect(ok == .ok && real == Array("ok\n".utf8))
            let (bad, _, _) = try await client.getBytes("/v1/tasks/\(id)/files/..%2F..%2Fhistory.sqlite")
            #expect(bad == .badRequest, "a path out of the task directory is refused")
        }
    }

    @Test("sparse files claiming 24 times the task's disk_mb reach the host only up to disk_mb; the log names what was left out")
    func sparseFilesAreBoundedByDiskMb() async throws {
        try await TestService().live { client in
            // 24 files of 60 MiB (each under the per-file limit, disk_mb) that take no tmpfs space, in a 64 MiB workspace.
            let id = try await client.submitTask(["disk_mb": 64, "steps": [["tool": "shell", "command":
                "echo small > small.txt && for i in $(seq 24); do truncate -s 60M big-$i; done"]]])
            let task = try await client.waitForTask(id, seconds: 120)
            #expect(task["status"] as? String == "completed", "\(task)")
            let directory = try #require(task["directory"] as? String)
            let (_, du) = TestSupport.hostShell("du -sk --apparent-size '\(directory)' | cut -f1")
            let kilobytes = Int(du.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
            #expect(kilobytes >= 0 && kilobytes <= 65 * 1024, "the task directory holds \(kilobytes) KiB (disk_mb 64)")
            #expect(try String(contentsOfFile: directory + "/small.txt", encoding: .utf8) == "small\n")
            let log = try String(contentsOfFile: directory + "/agent.log", encoding: .utf8)
            #expect(log.contains("left out") && log.contains("disk_mb"), "\(log.suffix(400))")
        }
    }

    @Test("memory.json keeps the last N actions and records how many it dropped")
    func memoryPruning() async throws {
        try await TestService(configure: { $0.tasks.memoryEntries = 2 }).live { client in
            let id = try await client.submitTask(["steps": (1...4).map { ["tool": "shell", "command": "echo step \($0)"] }])
            let task = try await client.waitForTask(id)
            let memoryPath = try #require(task["memory_path"] as? String)
            let memory = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: memoryPath))) as? [String: Any])
            let entries = try #require(memory["entries"] as? [[String: Any]])
            #expect(entries.map { $0["stdout"] as? String } == ["step 3\n", "step 4\n"], "\(entries)")
            #expect(memory["dropped"] as? Int == 2)
            #expect((memory["note"] as? String ?? "").contains("dropped"))
        }
    }

    static func processes(matching text: String) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry -> Int32? in
            guard let pid = Int32(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            let cmdline = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            return cmdline.contains(text) ? pid : nil
        }
    }
}
