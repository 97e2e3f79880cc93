import CorralAgent
import CorralEngine
import CorralTestSupport
import Foundation
import HTTPTypes
import Testing

/// Seed 002's natural-language tasks and `POST /v1/agent/runs` with a scripted model: the agent runs
/// as a task, its files and transcript land in output.zip.
@Suite("Agent routes", .enabled(if: TestSupport.jailsAvailable), .serialized)
struct AgentRouteTests {
    static func agent(_ model: ScriptedModel) throws -> CorralCodeAgent {
        var settings = LLMSettings(url: model.url, model: "scripted", apiKey: nil)
        settings.retries = 0
        settings.timeoutSeconds = 10
        return try CorralCodeAgent(settings: settings)
    }

    @Test("seed 002: POST /schedule {task} runs the agent; /status/{id} says complete; output.zip holds hello.py and the transcript")
    func scheduleATaskInWords() async throws {
        let model = try ScriptedModel([
            .code("print(write_file('hello.py', 'print(\"hello\")\\n'))\nprint(run_bash_command('python3 hello.py'))"),
            .code("final_answer('hello.py prints hello')"),
        ])
        defer { model.stop() }
        let agent = try Self.agent(model)
        try await TestService(configure: { $0.codeAgent = agent }).live { client in
            let (status, _, reply) = try await client.post("/schedule", json: ["task": "write hello.py that prints hello and run it"])
            #expect(status == .ok, "\(reply)")
            let id = try #require(reply["task_id"] as? String, "\(reply)")
            let task = try await client.waitForTask(id, seconds: 120)
            #expect(task["status"] as? String == "completed", "\(task)")
            let steps = try #require(task["steps"] as? [[String: Any]])
            #expect(steps.count == 1 && steps.first?["tool"] as? String == "agent")
            #expect((steps.first?["result"] as? [String: Any])?["stdout"] as? String == "hello.py prints hello")
            let (s, _, job, _) = try await client.get("/status/\(id)")
            #expect(s == .ok && job["status"] as? String == "complete" && job["result"] as? String == "/jobs/\(id)/output.zip", "\(job)")
            let (_, _, zip) = try await client.getBytes("/jobs/\(id)/output.zip")
            let entries = StoredZip.entries(zip)
            #expect(entries["hello.py"].map { String(decoding: $0, as: UTF8.self) } == "print(\"hello\")\n", "\(entries.keys.sorted())")
            let transcript = try #require(entries["agent_transcript.json"].flatMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] })
            #expect(transcript["answer"] as? String == "hello.py prints hello")
            let recorded = (transcript["steps"] as? [[String: Any]]) ?? []
            let ran = recorded.first?["observation"] as? String ?? ""
            #expect(recorded.count == 2 && ran.contains("wrote 15 characters to hello.py") && ran.contains("hello\n\n[exit code 0]"), "\(recorded)")
            let log = String(decoding: entries["agent.log"] ?? [], as: UTF8.self)
            #expect(log.contains("agent: step 1/15"), "\(log)")
        }
    }

    @Test("POST /v1/agent/runs: an unknown preset and a missing task are 400s; steps are refused there; each message names the field")
    func agentRunsBadInput() async throws {
        let model = try ScriptedModel([.code("final_answer(1)")])
        defer { model.stop() }
        let agent = try Self.agent(model)
        try await TestService(configure: { $0.codeAgent = agent }).live { client in
            for (body, field) in [(["task": "x", "preset": "nope"], "preset"), (["preset": "digger"], "task"),
                                  (["task": "x", "max_steps": 0], "max_steps"), (["task": "  "], "task"),
                                  (["task": "x", "model": "gpt-expensive"], "model")] as [([String: Any], String)] {
                let (status, _, reply) = try await client.post("/v1/agent/runs", json: body)
                let message = (reply["error"] as? [String: Any])?["message"] as? String ?? ""
                #expect(status == .badRequest, "\(body): \(reply)")
                #expect(message.contains(field), "\(body): the message names \(field): \(message)")
            }
            let (status, _, reply) = try await client.post("/v1/tasks", json: ["steps": [["tool": "shell", "command": "true"]], "preset": "digger"])
            #expect(status == .badRequest && "\(reply)".contains("task in words"), "\(reply)")
            #expect(model.requests.isEmpty, "nothing reached the model")
        }
    }

    @Test("the model unreachable: the task fails with that reason and its session is gone")
    func unreachableModelFailsTheTask() async throws {
        let model = try ScriptedModel([])
        let agent = try Self.agent(model)
        model.stop()
        let service = try TestService(configure: { $0.codeAgent = agent })
        try await service.live { client in
            let id = try await client.submitTask(["task": "anything"], path: "/v1/agent/runs")
            let task = try await client.waitForTask(id, seconds: 60)
            #expect(task["status"] as? String == "failed", "\(task)")
            #expect((task["error"] as? String ?? "").contains("the model failed at step 1"), "\(task)")
            for _ in 0..<100 where service.engine.sessions.count > 0 { try await Task.sleep(nanoseconds: 50_000_000) }
            #expect(service.engine.sessions.count == 0, "the task's session ended")
        }
    }

    @Test("a model's long reply is cut at 256 KiB (with a note) where it is kept; a 3 MiB final answer takes the step's output budget (1 MiB, output_truncated)")
    func longRepliesAndAnswersAreBounded() async throws {
        let model = try ScriptedModel([
            .code("print('first')\n# " + String(repeating: "y", count: 300_000)),
            .code("final_answer('x' * (3 << 20))"),
        ])
        defer { model.stop() }
        let agent = try Self.agent(model)
        try await TestService(configure: { $0.codeAgent = agent }).live { client in
            let id = try await client.submitTask(["task": "answer at length"], path: "/v1/agent/runs")
            let task = try await client.waitForTask(id, seconds: 120)
            #expect(task["status"] as? String == "completed", "\(task["error"] ?? "")")
            let result = try #require((task["steps"] as? [[String: Any]])?.first?["result"] as? [String: Any])
            let answer = result["stdout"] as? String ?? ""
            #expect(answer.utf8.count == 1 << 20 && answer.allSatisfy { $0 == "x" }, "the answer is cut at the step's budget: \(answer.utf8.count) bytes")
            #expect(result["output_truncated"] as? Bool == true, "\(result.keys.sorted())")
            let (_, _, zip) = try await client.getBytes("/v1/tasks/\(id)/output.zip")
            let transcript = try #require(StoredZip.entries(zip)["agent_transcript.json"].flatMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] })
            let first = ((transcript["steps"] as? [[String: Any]])?.first?["model_output"] as? String) ?? ""
            #expect(first.utf8.count < 270_000 && first.contains("the reply was cut at 262144 bytes; nothing of it ran"), "kept: \(first.utf8.count) bytes")
            let firstStep = (transcript["steps"] as? [[String: Any]])?.first ?? [:]
            #expect((firstStep["observation"] as? String ?? "").contains("nothing of it ran"), "the cut reply was not run: \(firstStep["observation"] ?? "")")
            // The second request to the model carries the cut reply, not the whole one.
            let sent = model.messages(1).compactMap { $0["content"] as? String }.map(\.utf8.count).max() ?? 0
            #expect(sent < 270_000, "the longest message sent back to the model: \(sent) bytes")
        }
    }
}
