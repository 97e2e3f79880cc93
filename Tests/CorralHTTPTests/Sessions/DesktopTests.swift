@testable import CorralEngine
import CorralTestSupport
import Foundation
import HTTPTypes
import Testing

/// Desktops in sessions: a real Xvfb in the session's jail, driven with the actions API, read with
/// screenshots and the window list, and a real GUI program (xmessage, xev) proving the effect.
@Suite("Desktops", .enabled(if: TestSupport.jailsAvailable), .serialized)
struct DesktopTests {
    static func waitForOutput(_ client: LiveClient, _ id: String, pid: Int, containing text: String) async throws -> String {
        var last = ""
        for _ in 0..<50 {
            let (_, _, process, _) = try await client.get("/v1/sessions/\(id)/processes/\(pid)")
            last = process["stdout"] as? String ?? ""
            if last.contains(text) { return last }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        return last
    }

    @Test("xmessage: the window list shows it, a click on its button ends it with the button's name, the screenshot of its region changes; xev sees typed keys")
    func driveAGUIProgram() async throws {
        try await TestService().live { client in
            let id = try await client.createSession(["desktop": ["width": 640, "height": 480]])
            let (_, _, info, _) = try await client.get("/v1/sessions/\(id)")
            let desktop = try #require(info["desktop"] as? [String: Any], "\(info)")
            #expect(desktop["display"] as? String == ":1" && desktop["width"] as? Int == 640 && desktop["height"] as? Int == 480)
            // DISPLAY is set for every exec.
            let (_, shown) = try await client.exec(id, "echo $DISPLAY; xdotool getdisplaygeometry")
            #expect(shown["stdout"] as? String == ":1\n640 480\n", "\(shown)")

            let before = try await client.getBytes("/v1/sessions/\(id)/desktop/screenshot?x=40&y=40&width=100&height=60")
            #expect(before.0 == .ok && before.1 == "image/png" && before.2.starts(with: [0x89, 0x50, 0x4e, 0x47]), "\(before.0) \(before.1 ?? "")")

            let (started, xm) = try await client.exec(id, "xmessage -print -buttons OK:0,Cancel:1 -geometry +40+40 'hello there'", extra: ["background": true])
            let pid = try #require(xm["pid"] as? Int ?? xm["process_id"] as? Int, "\(started) \(xm)")
            var windows: [[String: Any]] = []
            for _ in 0..<50 {
                windows = (try await client.get("/v1/sessions/\(id)/desktop/windows").2["windows"] as? [[String: Any]]) ?? []
                if windows.contains(where: { $0["title"] as? String == "xmessage" }) { break }
                try await Task.sleep(nanoseconds: 100_000_000)
            }
            let window = try #require(windows.first { $0["title"] as? String == "xmessage" }, "\(windows)")
            // The window manager (twm) frames it at +40+40: the program's window sits inside, under the title bar.
            let (wx, wy) = (window["x"] as? Int ?? 0, window["y"] as? Int ?? 0)
            #expect((40...44).contains(wx) && (50...75).contains(wy), "\(window)")
            let (_, manager) = try await client.exec(id, "pgrep -x twm")
            #expect(!(manager["stdout"] as? String ?? "").isEmpty, "the window manager runs: \(manager)")

            let after = try await client.getBytes("/v1/sessions/\(id)/desktop/screenshot?x=40&y=40&width=100&height=60")
            #expect(after.0 == .ok && after.2 != before.2, "the window's region changed on the screen")

            // Its OK button: the smallest window at the bottom left of the dialog.
            let buttons = windows.filter { ($0["width"] as? Int ?? 0) < 60 && ($0["height"] as? Int ?? 0) < 25 && ($0["y"] as? Int ?? 0) > 60 }
                .sorted { ($0["x"] as? Int ?? 0) < ($1["x"] as? Int ?? 0) }
            let ok = try #require(buttons.first, "\(windows)")
            let cx = (ok["x"] as? Int ?? 0) + (ok["width"] as? Int ?? 0) / 2, cy = (ok["y"] as? Int ?? 0) + (ok["height"] as? Int ?? 0) / 2
            let (clicked, _, report) = try await client.post("/v1/sessions/\(id)/desktop/actions", json: ["actions": [["type": "move", "x": cx, "y": cy], ["type": "click"]]])
            #expect(clicked == .ok && report["performed"] as? Int == 2, "\(report)")
            let printed = try await Self.waitForOutput(client, id, pid: pid, containing: "OK")
            #expect(printed == "OK\n", "xmessage printed the clicked button: \(printed)")

            // Typing reaches the window under the pointer (xev prints the key events it gets).
            let (_, xev) = try await client.exec(id, "xev -event keyboard -geometry 200x100+300+300", extra: ["background": true])
            let xevPID = try #require(xev["pid"] as? Int ?? xev["process_id"] as? Int, "\(xev)")
            try await Task.sleep(nanoseconds: 500_000_000)
            let (typed, _, _) = try await client.post("/v1/sessions/\(id)/desktop/actions", json: ["actions": [
                ["type": "move", "x": 350, "y": 350], ["type": "type", "text": "hi"], ["type": "key", "key": "Return"],
            ]])
            #expect(typed == .ok)
            let events = try await Self.waitForOutput(client, id, pid: xevPID, containing: "Return")
            #expect(events.contains("keysym 0x68, h") && events.contains("keysym 0x69, i") && events.contains("Return"), "\(events.suffix(600))")
        }
    }

    @Test("bad input: a point off the screen, an unknown key, an unknown type, no actions, a session without a desktop, too little memory")
    func badInput() async throws {
        try await TestService().live { client in
            let id = try await client.createSession(["desktop": ["width": 320, "height": 200, "depth": 16]])
            for (action, named) in [(["type": "click", "x": 320, "y": 10], "x = 320"), (["type": "move", "x": 5, "y": 200], "y = 200"),
                                    (["type": "key", "key": "NoSuchKeyName"], "NoSuchKeyName"), (["type": "jump"], "jump"),
                                    (["type": "drag", "x": 1, "y": 1], "to_x"), (["type": "scroll", "amount": 0], "amount")] as [([String: Any], String)] {
                let (status, _, reply) = try await client.post("/v1/sessions/\(id)/desktop/actions", json: ["actions": [["type": "move", "x": 1, "y": 1], action]])
                let message = (reply["error"] as? [String: Any])?["message"] as? String ?? ""
                #expect(status == .badRequest && message.contains(named), "\(action): \(status) \(message)")
            }
            let (empty, _, _) = try await client.post("/v1/sessions/\(id)/desktop/actions", json: ["actions": []])
            #expect(empty == .badRequest)
            // More typing than one request may hold the session for: a 400 naming the action, not a
            // command over the argument limit or past its wait (both were 500s).
            let long = String(repeating: "a", count: 6_000)
            let (typing, _, typingReply) = try await client.post("/v1/sessions/\(id)/desktop/actions", json: ["actions": [["type": "type", "text": long], ["type": "type", "text": long]]])
            #expect(typing == .badRequest && "\(typingReply)".contains("actions[1].text"), "\(typing) \(typingReply)")
            // A stray `key` on a click (of no X key's shape) is ignored, as a stray `text` is: it was checked and ended in a 500.
            let (stray, _, strayReply) = try await client.post("/v1/sessions/\(id)/desktop/actions", json: ["actions": [["type": "click", "x": 1, "y": 1, "key": "not a key; $(x)"]]])
            #expect(stray == .ok && strayReply["performed"] as? Int == 1, "\(stray) \(strayReply)")
            let (offShot, _, _, _) = try await client.get("/v1/sessions/\(id)/desktop/screenshot?x=400")
            #expect(offShot == .badRequest)

            let plain = try await client.createSession()
            let (noDesktop, _, reply, _) = try await client.get("/v1/sessions/\(plain)/desktop/windows")
            #expect(noDesktop == .conflict && "\(reply)".contains("no desktop"), "\(reply)")
            let (small, _, smallReply) = try await client.post("/v1/sessions", json: ["desktop": [:] as [String: Any], "max_memory_mb": 128])
            #expect(small == .badRequest && "\(smallReply)".contains("192"), "\(smallReply)")
            let (wide, _, _) = try await client.post("/v1/sessions", json: ["desktop": ["width": 10_000]])
            #expect(wide == .badRequest)
        }
    }

    @Test("nothing of a desktop listens on a host TCP port, and its display dies with its session")
    func noHostPortsAndNoLeftovers() async throws {
        try await TestService().live { client in
            let port = try #require(client.port)
            let before = Set(TestSupport.hostShell("ss -Hltn | awk '{print $4}'").1.split(separator: "\n"))
            let id = try await client.createSession(["desktop": [:] as [String: Any]])
            let after = Set(TestSupport.hostShell("ss -Hltn | awk '{print $4}'").1.split(separator: "\n"))
            let added = after.subtracting(before).filter { !$0.hasSuffix(":\(port)") }
            #expect(added.isEmpty, "new host TCP listeners: \(added)")
            let (_, procs) = try await client.exec(id, "pgrep -x Xvfb")
            #expect(!(procs["stdout"] as? String ?? "").isEmpty, "Xvfb runs in the session")
            func displays() -> Int { Int(TestSupport.hostShell("pgrep -x Xvfb | wc -l").1.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1 }
            let running = displays()
            #expect(running >= 1)
            _ = try await client.delete("/v1/sessions/\(id)")
            var gone = false
            for _ in 0..<50 where !gone {
                gone = displays() == running - 1
                if !gone { try await Task.sleep(nanoseconds: 100_000_000) }
            }
            #expect(gone, "the display died with its session")
        }
    }
}

/// The window list's parser on what a hostile program can make xwininfo print.
@Suite("Desktop window list")
struct DesktopWindowTreeTests {
    @Test("titles with quotes, colons and parentheses; no name; negative positions; garbage lines")
    func parse() {
        let text = """
          Root window id: 0x50d (the root window) (has no name)
             0x200016 "xmessage": ("xmessage" "Xmessage")  93x52+40+40  +40+40
                0x200017 (has no name): ()  93x52+0+0  +41+41
             0x300001 "evil": (": (x)" ": (": ("a" "b")  10x10+0+0  +-5+-7
             0x300002 "": ()  1x1+0+0  +0+0
             0x ": (
             0xZZ "x": ()  1x1+0+0  +0+0
             0x300003 "t"  notgeometry  +1+1
        """
        let windows = DesktopWindowTree.parse(text)
        #expect(windows.map(\.id) == [0x200016, 0x200017, 0x300001, 0x300002])
        #expect(windows[0] == DesktopWindow(id: 0x200016, title: "xmessage", x: 40, y: 40, width: 93, height: 52))
        #expect(windows[1].title == "" && windows[1].x == 41)
        #expect(windows[2].title.hasPrefix("evil") && windows[2].x == -5 && windows[2].y == -7, "\(windows[2])")
        #expect(windows[3].title == "")
    }
}
