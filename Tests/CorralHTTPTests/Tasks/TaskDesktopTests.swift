import CorralEngine
import CorralTestSupport
import Foundation
import Testing

/// Tasks with `gui` and `screenshot` steps on a real desktop (Xvfb and twm in the task's jail).
@Suite(.enabled(if: TestSupport.jailsAvailable), .serialized)
struct TaskDesktopTests {
    /// A PNG's width and height (its IHDR chunk), or nil when the bytes are not a PNG.
    static func pngSize(_ bytes: [UInt8]) -> (Int, Int)? {
        guard bytes.count > 24, bytes.starts(with: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
              bytes[12..<16].elementsEqual(Array("IHDR".utf8)) else { return nil }
        func be32(_ i: Int) -> Int { bytes[i..<(i + 4)].reduce(0) { $0 << 8 | Int($1) } }
        return (be32(16), be32(20))
    }

    @Test("a gui step clicks xmessage's button: it prints the button's label and its window leaves the list; screenshots before and after are PNGs of the screen in output.zip")
    func guiAndScreenshots() async throws {
        try await TestService().live { client in
            let id = try await client.submitTask([
                "desktop": ["width": 640, "height": 480],
                "steps": [
                    ["tool": "shell", "command": "setsid xmessage -print -buttons OK_PRESS_HERE_TO_CONTINUE:0 -geometry +40+40 'hello there' > clicked.txt 2>&1 < /dev/null &"
                        + " for i in $(seq 100); do xwininfo -root -tree | grep -q '\"xmessage\"' && exit 0; sleep 0.1; done; exit 1"],
                    ["tool": "screenshot", "name": "before"],
                    // Its button, wide for its long label, spans x 46 to 250 and y 90 to 107 under twm's title bar.
                    ["tool": "gui", "actions": [["type": "move", "x": 148, "y": 98], ["type": "click"]]],
                    ["tool": "shell", "command": "for i in $(seq 100); do grep -q OK_PRESS clicked.txt && ! xwininfo -root -tree | grep -q '\"xmessage\"' && break; sleep 0.1; done;"
                        + " cat clicked.txt; xwininfo -root -tree | grep -c '\"xmessage\"'; true"],
                    ["tool": "screenshot"],
                    // A workspace file with a screenshot's name does not replace the server's screenshot.
                    ["tool": "write_file", "path": "screenshot-2.png", "content": "not a picture"],
                ] as [[String: Any]],
            ])
            let task = try await client.waitForTask(id, seconds: 120)
            let steps = try #require(task["steps"] as? [[String: Any]])
            #expect(task["status"] as? String == "completed", "\(task)")
            let results = steps.map { $0["result"] as? [String: Any] ?? [:] }
            #expect(results[2]["stdout"] as? String == "performed 2 action(s)\n", "\(results[2])")
            #expect(results[3]["stdout"] as? String == "OK_PRESS_HERE_TO_CONTINUE\n0\n", "xmessage printed its button and its window is gone: \(results[3])")
            #expect((results[1]["stdout"] as? String ?? "").hasPrefix("screenshot-2.png"), "\(results[1])")

            let (zipStatus, _, zip) = try await client.getBytes("/v1/tasks/\(id)/output.zip")
            #expect(zipStatus == .ok)
            let entries = StoredZip.entries(zip)
            let before = try #require(entries["screenshot-2.png"], "\(entries.keys.sorted())")
            let after = try #require(entries["screenshot-5.png"], "\(entries.keys.sorted())")
            #expect(Self.pngSize(before).map { [$0.0, $0.1] } == [640, 480] && Self.pngSize(after).map { [$0.0, $0.1] } == [640, 480])
            #expect(before != after, "the dialog is on the first screenshot and gone from the second")
            let (fileStatus, type, served) = try await client.getBytes("/v1/tasks/\(id)/files/screenshot-2.png")
            #expect(fileStatus == .ok && served == before, "\(fileStatus) \(type ?? "")")
            let log = try String(contentsOfFile: try #require(task["log_path"] as? String), encoding: .utf8)
            #expect(log.contains("step 3/6 started: gui move, click") && log.contains("left out of the task directory") && log.contains("screenshot-2.png"), "\(log)")
        }
    }

    @Test("a screenshot step without 'desktop' gets the default 1024x768 display; bad gui steps are 400s naming the value; an unknown key or a point off the task's screen fails its step")
    func defaultsAndBadInput() async throws {
        try await TestService().live { client in
            let id = try await client.submitTask(["steps": [["tool": "shell", "command": "echo $DISPLAY"], ["tool": "screenshot"]]])
            let task = try await client.waitForTask(id, seconds: 60)
            #expect(task["status"] as? String == "completed", "\(task)")
            let display = ((task["steps"] as? [[String: Any]])?.first?["result"] as? [String: Any])?["stdout"] as? String
            #expect(display == ":1\n")
            let (_, _, shot) = try await client.getBytes("/v1/tasks/\(id)/files/screenshot-2.png")
            #expect(Self.pngSize(shot).map { [$0.0, $0.1] } == [1024, 768])

            for (body, named) in [
                (["steps": [["tool": "gui", "actions": [["type": "click", "x": 4000, "y": 10]]]], "desktop": ["width": 640, "height": 480]], "steps[0].actions[0].x = 4000"),
                (["steps": [["tool": "shell", "command": "true"], ["tool": "gui", "actions": [["type": "jump"]]]]], "steps[1].actions[0].type"),
                (["steps": [["tool": "gui"]]], "needs 'actions'"),
                (["steps": [["tool": "gui", "actions": [] as [Any]]]], "1 to 100 actions"),
                (["steps": [["tool": "screenshot", "path": "a.png"]]], "takes no 'path'"),
                (["steps": [["tool": "shell", "command": "true", "actions": [["type": "click"]]]]], "takes no 'actions'"),
                (["steps": [["tool": "screenshot"]], "max_memory_mb": 128], "192"),
            ] as [([String: Any], String)] {
                let (status, _, reply) = try await client.post("/v1/tasks", json: body)
                let message = (reply["error"] as? [String: Any])?["message"] as? String ?? ""
                #expect(status == .badRequest && message.contains(named), "\(body): \(status) \(message)")
            }

            // Key names and points on the task's own screen are checked when the step runs.
            for (action, named) in [(["type": "key", "key": "NoSuchKeyName"], "unknown key 'NoSuchKeyName'"),
                                    (["type": "click", "x": 700, "y": 10], "actions[0].x = 700 is off the screen (0 to 639)")] as [([String: Any], String)] {
                let bad = try await client.submitTask(["steps": [["tool": "gui", "actions": [action]]], "desktop": ["width": 640, "height": 480]])
                let failed = try await client.waitForTask(bad, seconds: 60)
                let result = ((failed["steps"] as? [[String: Any]])?.first?["result"] as? [String: Any]) ?? [:]
                #expect(failed["status"] as? String == "failed" && result["status"] as? String == "error"
                        && (result["error_message"] as? String ?? "").contains(named), "\(failed)")
            }
        }
    }
}
