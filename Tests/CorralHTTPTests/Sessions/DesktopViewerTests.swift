import CorralTestSupport
import Foundation
import HTTPTypes
import Testing

/// Watching a desktop through Corral: a real x11vnc in the session's jail, reached over the RFB
/// WebSocket with the key or a signed link; real headless Chromium opening noVNC's page.
@Suite("Desktop viewer", .enabled(if: TestSupport.jailsAvailable), .serialized)
struct DesktopViewerTests {
    static let key = "viewer-test-key"
    static var keyed: HTTPFields { [HTTPField.Name("X-API-Key")!: key] }

    /// Host TCP listeners of any process but this one (the test servers, Corral's own, live here,
    /// and other suites run theirs at the same time).
    static func listeners() -> Set<Substring> {
        Set(TestSupport.hostShell("ss -Hltnp | grep -v 'pid=\(ProcessInfo.processInfo.processIdentifier),' | awk '{print $4}'").1.split(separator: "\n"))
    }

    /// The RFB handshake (3.8, security None) over a viewer socket: the banner, then the server's
    /// init with the screen's size. Leaves the connection ready for client messages.
    static func handshake(_ socket: WebSocketClient) throws -> (banner: String, width: Int, height: Int) {
        var bytes: [UInt8] = []
        func need(_ n: Int) throws {
            while bytes.count < n { guard let more = try socket.receiveBytes() else { throw WebSocketError("closed after \(bytes.count) bytes") }; bytes += more }
        }
        try need(12)
        let banner = String(decoding: bytes[0..<12], as: UTF8.self)
        bytes.removeFirst(12)
        try socket.sendBinary(Array("RFB 003.008\n".utf8))
        try need(1)
        try need(1 + Int(bytes[0]))
        guard bytes[1...Int(bytes[0])].contains(1) else { throw WebSocketError("no security type None: \(bytes)") }
        bytes.removeFirst(1 + Int(bytes[0]))
        try socket.sendBinary([1])
        try need(4)
        guard bytes[0..<4] == [0, 0, 0, 0] else { throw WebSocketError("security failed: \(bytes)") }
        bytes.removeFirst(4)
        try socket.sendBinary([1])  // shared
        try need(4)
        return (banner, Int(bytes[0]) << 8 | Int(bytes[1]), Int(bytes[2]) << 8 | Int(bytes[3]))
    }

    static func pointer(_ client: LiveClient, _ id: String) async throws -> String {
        let (_, where_) = try await client.exec(id, "xdotool getmouselocation", headers: keyed)
        return (where_["stdout"] as? String ?? "").components(separatedBy: " screen").first ?? ""
    }

    @Test("the RFB banner and the server's init through /desktop/vnc with the key and with a signed link; no key, a forged or an expired link are refused; a view-only link drops input; no host TCP listener")
    func vncSocket() async throws {
        try await TestService(apiKeys: ["alice": Self.key]).live { client in
            let port = try #require(client.port)
            let before = Self.listeners()
            let id = try await client.createSession(["desktop": ["width": 640, "height": 480]], headers: Self.keyed)

            let withKey = try await LiveClient.onOwnThread { () throws -> (Bool, String, Int, Int) in
                let socket = try WebSocketClient(port: port, path: "/v1/sessions/\(id)/desktop/vnc", headers: ["X-API-Key: \(Self.key)"])
                guard socket.upgraded else { return (false, socket.statusLine, 0, 0) }
                let (banner, w, h) = try Self.handshake(socket)
                return (true, banner, w, h)
            }
            #expect(withKey.0 && withKey.1.hasPrefix("RFB 003.00") && withKey.2 == 640 && withKey.3 == 480, "\(withKey)")

            // Refused upgrades: the WebSocket library answers a bare 400; the same request without the upgrade says why.
            let refused = try await LiveClient.onOwnThread { try WebSocketClient(port: port, path: "/v1/sessions/\(id)/desktop/vnc").statusLine }
            #expect(refused.contains(" 400 "), "\(refused)")
            let (noKey, _, noKeyReply, _) = try await client.get("/v1/sessions/\(id)/desktop/vnc")
            #expect(noKey == .unauthorized, "\(noKeyReply)")

            // Signed links: a short one that expires, a forged one, a good view-only and a good interactive one.
            func link(_ body: [String: Any]) async throws -> [String: Any] {
                let (status, _, reply) = try await client.post("/v1/sessions/\(id)/desktop/url", json: body, headers: Self.keyed)
                #expect(status == .ok, "\(reply)")
                return reply
            }
            let short = try #require(try await link(["mode": "view", "ttl_seconds": 1])["websocket_path"] as? String)
            let view = try await link(["mode": "view", "ttl_seconds": 60]), interact = try await link(["mode": "interact"])
            let viewPath = try #require(view["websocket_path"] as? String), interactPath = try #require(interact["websocket_path"] as? String)
            #expect((view["url"] as? String ?? "").contains("/desktop/signed/") && view["mode"] as? String == "view", "\(view)")
            let forged = String(viewPath.dropLast()) + (viewPath.hasSuffix("0") ? "1" : "0")
            try await Task.sleep(nanoseconds: 2_100_000_000)
            for (path, what) in [(short, "expired"), (forged, "signature"), (viewPath.replacingOccurrences(of: id, with: "s-nosuch"), "signature")] {
                let status = try await LiveClient.onOwnThread { try WebSocketClient(port: port, path: path).statusLine }
                #expect(status.contains(" 400 ") && !status.contains(" 101 "), "\(what): \(status)")
                let (plain, _, reply, _) = try await client.get(path)
                #expect(plain == .forbidden && "\(reply)".contains(what), "\(path): \(plain) \(reply)")
            }

            // Input through each link: a pointer event to (200, 150) moves the pointer only when interactive.
            _ = try await client.post("/v1/sessions/\(id)/desktop/actions", json: ["actions": [["type": "move", "x": 10, "y": 10]]], headers: Self.keyed)
            for (path, moves) in [(viewPath, false), (interactPath, true)] {
                let banner = try await LiveClient.onOwnThread { () throws -> String in
                    let socket = try WebSocketClient(port: port, path: path)
                    guard socket.upgraded else { return socket.statusLine }
                    let (banner, _, _) = try Self.handshake(socket)
                    try socket.sendBinary([5, 0, 0, 200, 0, 150])
                    Thread.sleep(forTimeInterval: 0.5)
                    return banner
                }
                #expect(banner.hasPrefix("RFB 003.00"), "\(path): \(banner)")
                let location = try await Self.pointer(client, id)
                #expect(location == (moves ? "x:200 y:150" : "x:10 y:10"), "\(moves ? "interactive" : "view-only"): \(location)")
            }
            let added = Self.listeners().subtracting(before).filter { !$0.hasSuffix(":\(port)") }
            #expect(added.isEmpty, "new host TCP listeners: \(added)")
            _ = try await client.execute(uri: "/v1/sessions/\(id)", method: .delete, headers: Self.keyed) { $0.status }
        }
    }

    @Test("a view-only viewer that sends noVNC's extended-clipboard capabilities (a ClientCutText of length -8) keeps its connection and gets the screen")
    func viewOnlyViewerWithExtendedClipboardGetsUpdates() async throws {
        try await TestService(apiKeys: ["alice": Self.key]).live { client in
            let port = try #require(client.port)
            let id = try await client.createSession(["desktop": ["width": 320, "height": 200]], headers: Self.keyed)
            let (_, _, link) = try await client.post("/v1/sessions/\(id)/desktop/url", json: ["mode": "view"], headers: Self.keyed)
            let path = try #require(link["websocket_path"] as? String, "\(link)")
            // After the handshake: the extended-clipboard capabilities noVNC sends, then a full update request.
            // No SetEncodings, so the update is Raw: 320 × 200 × 4 bytes follow, far more than the server's init.
            let received = try await LiveClient.onOwnThread { () throws -> Int in
                let socket = try WebSocketClient(port: port, path: path)
                guard socket.upgraded else { throw WebSocketError(socket.statusLine) }
                _ = try Self.handshake(socket)
                try socket.sendBinary([0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0])  // 32 bpp true colour
                try socket.sendBinary([6, 0, 0, 0, 0xff, 0xff, 0xff, 0xf8, 0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00, 0x00])
                try socket.sendBinary([3, 0, 0, 0, 0, 0, 1, 64, 0, 200])
                var total = 0
                while total < 256_000, let bytes = try socket.receiveBytes() { total += bytes.count }
                return total
            }
            #expect(received >= 256_000, "a full 320×200 update reached the view-only viewer: \(received) bytes before the connection closed")
            _ = try await client.execute(uri: "/v1/sessions/\(id)", method: .delete, headers: Self.keyed) { $0.status }
        }
    }

    /// The average colour of a region of a PNG (8-bit RGB or RGBA), decoded by Python's zlib.
    static func averageColour(_ png: String, x: Int, y: Int, width: Int, height: Int) -> [Double] {
        let script = """
        import struct, sys, zlib
        d = open(sys.argv[1], 'rb').read()
        i, idat = 8, b''
        while i < len(d):
            n, kind = struct.unpack('>I4s', d[i:i+8]); body = d[i+8:i+8+n]; i += 12 + n
            if kind == b'IHDR': w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
            if kind == b'IDAT': idat += body
        bpp = {2: 3, 6: 4}[ctype]; raw = zlib.decompress(idat); stride = w * bpp; rows = []; prev = bytearray(stride); p = 0
        for r in range(h):
            f = raw[p]; line = bytearray(raw[p+1:p+1+stride]); p += 1 + stride
            for c in range(stride):
                a = line[c-bpp] if c >= bpp else 0; b = prev[c]; cc = prev[c-bpp] if c >= bpp else 0
                if f == 1: line[c] = (line[c] + a) & 255
                elif f == 2: line[c] = (line[c] + b) & 255
                elif f == 3: line[c] = (line[c] + (a + b) // 2) & 255
                elif f == 4:
                    q = a + b - cc; pa, pb, pc = abs(q-a), abs(q-b), abs(q-cc)
                    line[c] = (line[c] + (a if pa <= pb and pa <= pc else b if pb <= pc else cc)) & 255
            rows.append(line); prev = line
        x, y, rw, rh = (int(v) for v in sys.argv[2:6]); s = [0, 0, 0]
        for r in range(y, y + rh):
            for c in range(x, x + rw):
                for k in range(3): s[k] += rows[r][c*bpp+k]
        print(' '.join(str(v / (rw * rh)) for v in s))
        """
        let path = NSTemporaryDirectory() + "corral-average-\(UUID().uuidString).py"
        FileManager.default.createFile(atPath: path, contents: Data(script.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return TestSupport.hostShell("python3 \(path) \(png) \(x) \(y) \(width) \(height)").1.split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    @Test("headless Chromium opens the noVNC page through a signed link and shows the desktop: a region of its screenshot matches the session's own")
    func novncInChromium() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium"), "chromium is not installed: run scripts/bootstrap")
        // One server, one session, one page load. Before the view-only filter framed noVNC's
        // extended-clipboard message (a negative ClientCutText length), about 1 load in 3 showed
        // noVNC's empty page: the relay ended on the refusal, a race with the first screen update.
        try await TestService(apiKeys: ["alice": Self.key]).live { client in
            let outcome = try await Self.novncPageShowsDesktop(client)
            print("noVNC page, average colour of the window's region: \(outcome)")
            #expect(outcome.hasPrefix("shown"), "the page shows the desktop: \(outcome)")
        }
    }

    /// One session with a red window, one headless Chromium load of its signed noVNC link: "shown: …" when
    /// the page's region has the session's own colour, "not shown: …" otherwise, with the figures.
    static func novncPageShowsDesktop(_ client: LiveClient) async throws -> String {
        let port = try #require(client.port)
        let id = try await client.createSession(["desktop": ["width": 640, "height": 480], "max_memory_mb": 512], headers: Self.keyed)
        _ = try await client.exec(id, "xmessage -bg '#d02020' -fg white -geometry 360x260+140+110 'Corral desktop'", extra: ["background": true], headers: Self.keyed)
        try await Task.sleep(nanoseconds: 1_000_000_000)
        let own = try await client.execute(uri: "/v1/sessions/\(id)/desktop/screenshot", method: .get, headers: Self.keyed) { Array($0.body.readableBytesView) }
        let ownPath = NSTemporaryDirectory() + "corral-own-\(id).png", pagePath = NSTemporaryDirectory() + "corral-novnc-\(id).png"
        FileManager.default.createFile(atPath: ownPath, contents: Data(own))
        defer { try? FileManager.default.removeItem(atPath: ownPath) }
        let (_, _, link) = try await client.post("/v1/sessions/\(id)/desktop/url", json: ["mode": "view"], headers: Self.keyed)
        let url = try #require(link["url"] as? String, "\(link)")
        let profile = NSTemporaryDirectory() + "corral-chromium-\(id)"
        defer { _ = TestSupport.hostShell("rm -rf '\(profile)'") }
        // Chromium driven over a DevTools pipe (no port): the page connects, then a screenshot is taken.
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/testing/chromium-screenshot.py").path
        let (status, output) = TestSupport.hostShell("timeout 90 python3 '\(script)' 'http://127.0.0.1:\(port)\(url)' '\(pagePath)' 640 480 8 '\(profile)' 2>&1")
        #expect(status == 0 && FileManager.default.fileExists(atPath: pagePath), "chromium: \(status) \(output.suffix(800))")
        // The window's middle, away from its text and noVNC's control bar on the left edge.
        let page = Self.averageColour(pagePath, x: 380, y: 300, width: 60, height: 30)
        let reference = Self.averageColour(ownPath, x: 380, y: 300, width: 60, height: 30)
        #expect(page.count == 3 && reference.count == 3, "\(page) \(reference)")
        #expect(reference.first ?? 0 > 150, "the session's own screenshot shows the red window: \(reference)")
        let shown = page.count == 3 && reference.count == 3 && zip(page, reference).allSatisfy { abs($0 - $1) < 40 }
        _ = try await client.execute(uri: "/v1/sessions/\(id)", method: .delete, headers: Self.keyed) { $0.status }
        return (shown ? "shown: " : "not shown: ") + "page \(page) vs the session's own \(reference) (\(pagePath))"
    }

    @Test("an open viewer keeps its session: with a 2 s idle timeout the session lives 4 s while the RFB WebSocket is open, and expires once it is closed")
    func viewerKeepsSessionAlive() async throws {
        try await TestService().live { client in
            let port = try #require(client.port)
            let id = try await client.createSession(["desktop": ["width": 320, "height": 200], "timeout_seconds": 2])
            let viewer = Task {
                try await LiveClient.onOwnThread { () throws -> String in
                    let socket = try WebSocketClient(port: port, path: "/v1/sessions/\(id)/desktop/vnc")
                    guard socket.upgraded else { return socket.statusLine }
                    let banner = try Self.handshake(socket).banner
                    Thread.sleep(forTimeInterval: 4)
                    return banner
                }
            }
            try await Task.sleep(nanoseconds: 3_500_000_000)
            let (during, _, info, _) = try await client.get("/v1/sessions/\(id)")
            #expect(during == .ok, "the session outlived its 2 s timeout while watched: \(info)")
            let banner = try await viewer.value
            #expect(banner.hasPrefix("RFB 003.00"), "\(banner)")
            // Any call on the session is activity too: none until the timeout has passed.
            try await Task.sleep(nanoseconds: 3_000_000_000)
            let after = try await client.get("/v1/sessions/\(id)").0
            #expect(after == .gone, "the session expired once the viewer left: \(after)")
        }
    }
}

@Suite("Jupyter in sessions", .enabled(if: TestSupport.jailsAvailable), .serialized)
struct JupyterProxyTests {
    @Test("a Jupyter that accepts and never answers (stopped): the proxied request ends at its deadline with a 500 saying so, and the server goes on")
    func silentJupyterIsCutOff() async throws {
        try await TestService(apiKeys: ["alice": DesktopViewerTests.key], jupyterAnswerSeconds: 2).live { client in
            let keyed = DesktopViewerTests.keyed
            let id = try await client.createSession(["max_memory_mb": 512], headers: keyed)
            let (started, _, report) = try await client.post("/v1/sessions/\(id)/jupyter", headers: keyed)
            #expect(started == .ok, "\(report)")
            // Jupyter stops (SIGSTOP): its port still accepts connections (the kernel completes them), nothing answers.
            let (_, stopped) = try await client.exec(id, "pkill -STOP -f '[j]upyter' && echo stopped", headers: keyed)
            #expect(stopped["stdout"] as? String == "stopped\n", "\(stopped)")
            try await Task.sleep(nanoseconds: 500_000_000)
            let start = Date()
            let (status, _, reply, _) = try await client.get("/v1/sessions/\(id)/jupyter/api/status", headers: keyed)
            let seconds = Date().timeIntervalSince(start)
            #expect(status == .internalServerError && "\(reply)".contains("did not answer within 2 s"), "\(status) \(reply)")
            #expect(seconds < 30, "the request ended at its deadline, not the session's: \(seconds) s")
            let (health, _, _, _) = try await client.get("/healthz")
            #expect(health == .ok)
        }
    }

    @Test("through Corral's proxy the REST API makes a kernel and a WebSocket execute of 1+1 answers 2; without the key it is refused; before the start a 409, an unknown session a 404")
    func kernelThroughTheProxy() async throws {
        try await TestService(apiKeys: ["alice": DesktopViewerTests.key]).live { client in
            let port = try #require(client.port)
            let keyed = DesktopViewerTests.keyed
            let (unknown, _, _) = try await client.post("/v1/sessions/s-nosuch/jupyter", headers: keyed)
            #expect(unknown == .notFound)
            let id = try await client.createSession(["max_memory_mb": 512], headers: keyed)
            let (early, _, earlyReply, _) = try await client.get("/v1/sessions/\(id)/jupyter/api/status", headers: keyed)
            #expect(early == .conflict && "\(earlyReply)".contains("POST"), "\(earlyReply)")
            let (started, _, report) = try await client.post("/v1/sessions/\(id)/jupyter", headers: keyed)
            #expect(started == .ok && report["started"] as? Bool == true, "\(report)")
            let (noKey, _, _, _) = try await client.get("/v1/sessions/\(id)/jupyter/api/kernels")
            #expect(noKey == .unauthorized)
            let (made, _, kernel) = try await client.post("/v1/sessions/\(id)/jupyter/api/kernels", json: ["name": "python3"], headers: keyed)
            let kernelID = try #require(kernel["id"] as? String, "\(made) \(kernel)")
            let path = "/v1/sessions/\(id)/jupyter/api/kernels/\(kernelID)/channels"
            let refused = try await LiveClient.onOwnThread { try WebSocketClient(port: port, path: path).statusLine }
            #expect(!refused.contains(" 101 "), "\(refused)")
            let result = try await LiveClient.onOwnThread { () throws -> String in
                let socket = try WebSocketClient(port: port, path: path, headers: ["X-API-Key: \(DesktopViewerTests.key)"])
                guard socket.upgraded else { return socket.statusLine }
                let message: [String: Any] = [
                    "header": ["msg_id": UUID().uuidString, "username": "test", "session": UUID().uuidString, "msg_type": "execute_request", "version": "5.3"],
                    "parent_header": [:] as [String: Any], "metadata": [:] as [String: Any], "channel": "shell", "buffers": [] as [Any],
                    "content": ["code": "1+1", "silent": false, "store_history": false, "user_expressions": [:] as [String: Any], "allow_stdin": false],
                ]
                try socket.sendText(String(decoding: try JSONSerialization.data(withJSONObject: message), as: UTF8.self))
                for _ in 0..<200 {
                    guard let text = try socket.receive() else { break }
                    guard let reply = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                          (reply["header"] as? [String: Any])?["msg_type"] as? String == "execute_result" else { continue }
                    return ((reply["content"] as? [String: Any])?["data"] as? [String: Any])?["text/plain"] as? String ?? "\(reply)"
                }
                return "no execute_result"
            }
            #expect(result == "2", "\(result)")
            _ = try await client.execute(uri: "/v1/sessions/\(id)", method: .delete, headers: keyed) { $0.status }
        }
    }
}
