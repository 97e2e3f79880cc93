import CorralEngine
import CorralTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// What one task may make the server hold: its steps' output together, a page of the task list,
/// the events kept for finished tasks. Before these budgets four tasks of 100 steps each printing
/// 1 MB of NUL bytes (six bytes each as JSON) held the server at 3 GB and two cores for minutes:
/// each step's save encoded every result so far.
@Suite(.enabled(if: TestSupport.jailsAvailable), .serialized)
struct TaskBudgetTests {
    static let megabyteOf = "head -c 1000000 /dev/zero"

    @Test("a task's steps share an output budget: a step gets what is left and is output_limit past it")
    func sharedOutputBudget() async throws {
        try await TestService(configure: { $0.tasks.maxOutputBytes = 2_500_000 }).live { client in
            let id = try await client.submitTask(["continue_on_error": true, "steps": [
                ["tool": "shell", "command": Self.megabyteOf],
                ["tool": "shell", "command": Self.megabyteOf + " | tr '\\0' a"],
                ["tool": "shell", "command": Self.megabyteOf],
                ["tool": "shell", "command": "echo after > after.txt; cat after.txt"],
                ["tool": "read_file", "path": "after.txt"],
            ]])
            let task = try await client.waitForTask(id, seconds: 120)
            let steps = try #require(task["steps"] as? [[String: Any]])
            let results = steps.map { $0["result"] as? [String: Any] ?? [:] }
            try #require(results.count == 5)
            #expect(results[0]["status"] as? String == "success" && (results[0]["stdout"] as? String)?.utf8.count == 1_000_000)
            #expect(results[1]["status"] as? String == "success" && results[1]["stdout"] as? String == String(repeating: "a", count: 1_000_000))
            // 500,000 bytes were left for the third.
            #expect(results[2]["status"] as? String == "output_limit", "\(results[2]["status"] ?? "none")")
            let third = (results[2]["stdout"] as? String ?? "").utf8.count
            #expect(third <= 500_000 && third > 0, "\(third) bytes")
            // Nothing left: one byte each.
            #expect(results[3]["status"] as? String == "output_limit" && (results[3]["stdout"] as? String)?.utf8.count == 1,
                    "\(results[3])")
            #expect(results[4]["status"] as? String == "error" && (results[4]["error_message"] as? String ?? "").contains("at most 1 "), "\(results[4])")
        }
    }

    @Test("a page of GET /v1/tasks ends at its byte budget (always one task); the rest come with the next offset")
    func pageBudget() async throws {
        try await TestService(configure: { $0.tasks.maxPageBytes = 1 }).live { client in
            var ids: [String] = []
            for i in 1...3 { ids.append(try await client.submitTask(["steps": [["tool": "shell", "command": "echo \(i)"]]])) }
            for id in ids { _ = try await client.waitForTask(id) }
            var seen: [String] = []
            for offset in 0..<4 {
                let (status, _, page, _) = try await client.get("/v1/tasks?limit=50&offset=\(offset)")
                #expect(status == .ok)
                let tasks = try #require(page["tasks"] as? [[String: Any]])
                #expect(page["total"] as? Int == 3 && page["limit"] as? Int == 50)
                #expect(tasks.count == (offset < 3 ? 1 : 0), "offset \(offset): \(tasks.count) tasks")
                seen += tasks.compactMap { $0["task_id"] as? String }
            }
            #expect(seen == ids.reversed(), "newest first, each once: \(seen)")
        }
    }

    @Test("past the finished tasks' event budget a finished task's events are rebuilt from the store (no output chunks)")
    func finishedEventBudget() async throws {
        try await TestService(configure: { $0.tasks.maxFinishedEventBytes = 1 }).live { client in
            let port = try #require(client.port)
            let id = try await client.submitTask(["steps": [["tool": "shell", "command": "echo kept; sleep 0.3; echo whole"]]])
            let live = try await SSEClient.read(port: port, path: "/v1/tasks/\(id)/events")
            #expect(live.contains { $0.name == "output" }, "a live subscriber gets the output: \(live.map(\.name))")
            _ = try await client.waitForTask(id)
            let replay = try await SSEClient.read(port: port, path: "/v1/tasks/\(id)/events")
            #expect(replay.map(\.name) == ["step_started", "step_finished", "task_finished"], "\(replay.map(\.name))")
            let finished = try #require(replay.first { $0.name == "step_finished" })
            #expect(finished.data.contains("kept\\nwhole\\n"), "the step's result is whole: \(finished.data)")
        }
    }
}
