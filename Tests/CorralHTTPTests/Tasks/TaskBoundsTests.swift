@testable import CorralEngine
import CorralTestSupport
import Foundation
import HTTPTypes
import Testing

/// What a task may hold on the host, by bytes: its queue (requests waiting) and the files the
/// server writes into its directory (screenshots, the agent's transcript).
@Suite("Task bounds", .enabled(if: TestSupport.jailsAvailable), .serialized)
struct TaskBoundsTests {
    @Test("waiting tasks hold their bytes' bound: past it a 429 saying how much waits; one task always fits")
    func queueIsBoundedByBytes() async throws {
        try await TestService(configure: { $0.tasks.maxRunning = 1; $0.tasks.maxQueuedBytes = 300_000 }).live { client in
            let running = try await client.submitTask(["steps": [["tool": "shell", "command": "sleep 30"]]])
            let large = ["steps": [["tool": "shell", "command": "true # " + String(repeating: "q", count: 120_000)]]]
            var accepted: [String] = []
            var refusal: [String: Any] = [:]
            for _ in 0..<4 {
                let (status, _, reply) = try await client.post("/v1/tasks", json: large)
                if status == .accepted, let id = reply["task_id"] as? String { accepted.append(id) } else {
                    #expect(status == .tooManyRequests, "\(status) \(reply)")
                    refusal = reply
                    break
                }
            }
            #expect(accepted.count == 2, "two requests of 120 KB wait under 300,000 bytes, the third does not: \(accepted.count)")
            let message = (refusal["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains("KiB of requests") && message.contains("at most 292 KiB wait"), "\(refusal)")
            // Room returns as tasks leave the queue (a cancelled one here).
            let (cancelled, _, _) = try await client.post("/v1/tasks/\(accepted[0])/cancel", json: [:])
            #expect(cancelled == .ok)
            let (again, _, againReply) = try await client.post("/v1/tasks", json: large)
            #expect(again == .accepted, "\(againReply)")
            for id in [running] + accepted.dropFirst() + [againReply["task_id"] as? String ?? ""] {
                _ = try await client.post("/v1/tasks/\(id)/cancel", json: [:])
            }
        }
    }

    @Test("the files the server writes into a task's directory hold its disk_mb together; a rewrite replaces its own share")
    func serverFilesAreBoundedByDisk() throws {
        let root = NSTemporaryDirectory() + "corral-task-bounds-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = TaskDirectory(root: root, taskID: "t1", memoryLimit: 10, maxWrittenBytes: 1 << 20)
        try directory.create()
        let half = Data(repeating: 7, count: 600 << 10)
        #expect(directory.writeFile("screenshot-1.png", half))
        #expect(!directory.writeFile("screenshot-2.png", half), "a second 600 KiB file would make 1.2 MiB of 1 MiB")
        #expect(access(directory.path + "/screenshot-2.png", F_OK) != 0, "and nothing of it is on the host")
        #expect(directory.writeFile("screenshot-1.png", half), "rewriting a file counts it once")
        #expect(directory.writeFile("agent_transcript.json", Data(repeating: 1, count: 400 << 10)))
        let log = (try? String(contentsOfFile: directory.logPath, encoding: .utf8)) ?? ""
        #expect(log.contains("not written: screenshot-2.png") && log.contains("disk_mb"), "\(log)")
    }
}
