import CorralTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Tasks survive a SIGKILL of their server: finished ones keep status, steps and archive byte for
/// byte; running ones become failed with the restart's message, and nothing of their jails remains.
@Suite(.enabled(if: TestSupport.jailsAvailable), .serialized)
struct TaskRestartTests {
    @Test("SIGKILL with 5 running and 5 finished tasks, then restart on the same data directory")
    func killedServerKeepsFinishedTasks() async throws {
        let data = try CorralCLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let arguments = ["--warm-pool", "off", "--history", "sqlite", "--data-dir", data.path, "--max-running-tasks", "8"]
        let first = try await ReleaseServer.start(binary: CorralCLI.binary, extra: arguments)
        let pid = first.process.processIdentifier
        var finished: [String] = []
        for i in 0..<5 {
            let (status, reply) = try await first.post("/v1/tasks", ["steps": [
                ["tool": "shell", "command": "echo task \(i) > out.txt"], ["tool": "python", "code": "print(open('out.txt').read())"],
            ]])
            #expect(status == 202, "\(reply)")
            finished.append(try #require(reply["task_id"] as? String))
        }
        let marker = "sleep 5281"
        var running: [String] = []
        for _ in 0..<5 {
            let (_, reply) = try await first.post("/v1/tasks", ["steps": [["tool": "shell", "command": "echo started > s.txt"], ["tool": "shell", "command": marker]]])
            running.append(try #require(reply["task_id"] as? String))
        }
        var before: [String: [String: Any]] = [:]
        var archives: [String: Data] = [:]
        for id in finished {
            let task = try await Self.wait(first.port, id) { $0["status"] as? String == "completed" }
            before[id] = task
            archives[id] = try await Self.get(first.port, "/v1/tasks/\(id)/output.zip")
        }
        for id in running { _ = try await Self.wait(first.port, id) { ($0["steps"] as? [[String: Any]])?.last?["status"] as? String == "running" } }
        // A step is `running` as its command is being started: wait for the 5 processes themselves.
        for _ in 0..<100 where Self.processes(matching: marker).count < 5 { try await Task.sleep(nanoseconds: 50_000_000) }
        #expect(Self.processes(matching: marker).count >= 5, "the 5 long steps run")

        kill(pid, SIGKILL)
        first.process.waitUntilExit()
        try await Task.sleep(nanoseconds: 300_000_000)

        let second = try await ReleaseServer.start(binary: CorralCLI.binary, extra: arguments)
        defer { second.stop() }
        #expect(Self.processes(matching: marker).isEmpty, "no step of the killed server runs")
        #expect(SessionRestartTests.mounts(of: pid).isEmpty, "no mount of its sessions is left: \(SessionRestartTests.mounts(of: pid))")
        #expect(SessionRestartTests.cgroups(of: pid).isEmpty, "no cgroup of its sessions is left: \(SessionRestartTests.cgroups(of: pid))")
        for id in finished {
            let task = try await Self.json(second.port, "/v1/tasks/\(id)")
            #expect(task["status"] as? String == "completed")
            let was = try #require(before[id])
            func canonical(_ value: Any?) -> String {
                guard let value, let data = try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys]) else { return "nil" }
                return String(decoding: data, as: UTF8.self)
            }
            let changed = Set(task.keys).union(was.keys).filter { canonical(task[$0]) != canonical(was[$0]) }
            #expect(changed.isEmpty, "the task is as it was; changed: \(changed.map { "\($0): \(was[$0] ?? "nil") → \(task[$0] ?? "nil")" })")
            let zip = try await Self.get(second.port, "/v1/tasks/\(id)/output.zip")
            #expect(zip == archives[id], "output.zip is byte-identical")
        }
        for id in running {
            let task = try await Self.json(second.port, "/v1/tasks/\(id)")
            #expect(task["status"] as? String == "failed", "\(task)")
            #expect(task["error"] as? String == "interrupted by a server restart")
            let steps = (task["steps"] as? [[String: Any]]) ?? []
            #expect(steps.map { $0["status"] as? String } == ["completed", "failed"], "\(steps)")
            let seed = try await Self.json(second.port, "/status/\(id)")
            #expect(seed["status"] as? String == "failed")
            let zip = try await Self.get(second.port, "/v1/tasks/\(id)/output.zip")
            #expect(String(decoding: zip, as: UTF8.self).contains("interrupted by a server restart"), "its archive holds its log")
        }
        // A finished task's events after the restart are rebuilt from its record: resuming past any id
        // still ends with task_finished; an id no stream sends is a 400, never a trap (Int.max + 1).
        let rebuilt = try #require(finished.first)
        for (query, header) in [("?last_event_id=2147483647", nil), ("", "2147483647"), ("", "9223372036854775807"), ("", "-1")] as [(String, String?)] {
            var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(second.port)/v1/tasks/\(rebuilt)/events\(query)")))
            if let header { request.setValue(header, forHTTPHeaderField: "Last-Event-ID") }
            let (body, response) = try await URLSession.shared.data(for: request)
            let code = (response as? HTTPURLResponse)?.statusCode ?? 0
            let text = String(decoding: body, as: UTF8.self)
            if header.map({ Int($0).map { $0 < 0 || $0 > Int(Int32.max) } ?? true }) ?? false {
                #expect(code == 400 && text.contains("Last-Event-ID"), "\(header ?? ""): \(code) \(text.prefix(300))")
            } else {
                #expect(code == 200 && text.contains("event: task_finished") && !text.contains("event: step_started"),
                        "\(query)\(header ?? ""): \(code) \(text.prefix(300))")
            }
        }
        let (status, reply) = try await second.post("/v1/tasks", ["steps": [["tool": "shell", "command": "true"]]])
        #expect(status == 202, "the server is up after those and runs tasks: \(reply)")
    }

    static func get(_ port: Int, _ path: String) async throws -> Data {
        let url = try #require(URL(string: "http://127.0.0.1:\(port)\(path)"))
        return try await URLSession.shared.data(from: url).0
    }

    static func json(_ port: Int, _ path: String) async throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: try await get(port, path)) as? [String: Any])
    }

    static func wait(_ port: Int, _ id: String, until done: ([String: Any]) -> Bool) async throws -> [String: Any] {
        for _ in 0..<600 {
            let task = try await json(port, "/v1/tasks/\(id)")
            if done(task) { return task }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw CorralCLI.CLITestError("task \(id) did not reach the state awaited")
    }

    static func processes(matching text: String) -> [Int32] { SessionRestartTests.processes(matching: text) }
}
