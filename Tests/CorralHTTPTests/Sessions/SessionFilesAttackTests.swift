import CorralEngine
import CorralHTTP
import CorralTestSupport
import Foundation
import Glibc
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// Attacks on a session's files API, archive and shadow apply, from the API and from inside the
/// session. Each test checks what the caller is answered and that the host is unaffected: canary
/// files outside the workspace keep their bytes and never appear in a response, nothing is created
/// outside the workspace, and a shadow copy's host directory changes only by apply.
@Suite(.enabled(if: TestSupport.jailsAvailable), .serialized)
struct SessionFilesAttackTests {
    // MARK: - Paths

    @Test("'..' in a path is refused (400 invalid_request) by GET, PUT, DELETE and move; nothing is created outside")
    func dotDotPaths() async throws {
        let canary = try HostCanary()
        defer { canary.remove() }
        try await TestService().live { client in
            try await client.withSession { id in
                #expect(try await client.attack(.put, files(id, "ok.txt"), bytes: Array("ok\n".utf8)).status == .ok)
                // Deep enough to reach the host's root from /run/corral/sessions/<pid>/<id>/workspace, then the canary.
                let escape = String(repeating: "../", count: 8) + canary.file.dropFirst()
                let paths = ["..", "../x", "a/../../x", "./../x", "a/./../../x", "a/b/../../../x", "/workspace/../x", "x/..", escape]
                for path in paths {
                    for (method, bytes) in [(HTTPRequest.Method.get, nil), (.put, Array("pwned\n".utf8)), (.delete, nil)] as [(HTTPRequest.Method, [UInt8]?)] {
                        let reply = try await client.attack(method, files(id, path), bytes: bytes)
                        #expect(reply.status == .badRequest && reply.code == "invalid_request", "\(method) \(path): \(reply.status) \(reply.text)")
                        #expect(!reply.text.contains(canary.secret))
                    }
                    for (from, to) in [(path, "stolen"), ("ok.txt", path)] {
                        let reply = try await client.attack(.post, "/v1/sessions/\(id)/files/move", json: ["from": from, "to": to])
                        #expect(reply.status == .badRequest && reply.code == "invalid_request", "move \(from) → \(to): \(reply.status) \(reply.text)")
                    }
                }
                // Percent-encoded dots decode to '..' and are refused the same way.
                for raw in ["%2e%2e/x", "%2E%2E/x", "a/%2e%2e/%2e%2e/x", "%2e%2e", "%2e%2e%2fx"] {
                    for method in [HTTPRequest.Method.get, .put, .delete] {
                        let reply = try await client.attack(method, "/v1/sessions/\(id)/files?path=\(raw)", bytes: method == .put ? [0x41] : nil)
                        #expect(reply.status == .badRequest && reply.code == "invalid_request", "\(method) \(raw): \(reply.status) \(reply.text)")
                    }
                }
                #expect(canary.intact, "the host canary is unchanged")
                #expect(HostFS.names(HostFS.sessionDirectory(id)) == ["workspace"], "nothing beside the workspace")
                #expect(!HostFS.exists(HostFS.sessionDirectory(id) + "/x") && !HostFS.exists(HostFS.sessionsRoot + "/x"))
                #expect(!HostFS.exists(HostFS.sessionsRoot + "/stolen") && !HostFS.exists("/stolen"))
                let listing = try await client.attack(.get, files(id, ""))
                #expect(listing.entryNames == ["ok.txt"], "the workspace holds only what was written: \(listing.text)")
            }
        }
    }

    @Test("absolute paths are refused (400); /workspace/x is the workspace path x")
    func absolutePaths() async throws {
        let canary = try HostCanary()
        defer { canary.remove() }
        let planted = "/tmp/corral-abs-\(UUID().uuidString)"
        try await TestService().live { client in
            try await client.withSession { id in
                let ownHostPath = HostFS.sessionDirectory(id) + "/workspace/x"
                let paths = ["/etc/passwd", "/etc/hostname", "/run/corral/sessions", ownHostPath, canary.file, planted,
                             "/workspacex/y", "//workspace/x", "/proc/self/root/etc/passwd", "/proc/1/root/etc/shadow"]
                for path in paths {
                    for (method, bytes) in [(HTTPRequest.Method.get, nil), (.put, Array("pwned\n".utf8)), (.delete, nil)] as [(HTTPRequest.Method, [UInt8]?)] {
                        let reply = try await client.attack(method, files(id, path), bytes: bytes)
                        #expect(reply.status == .badRequest && reply.code == "invalid_request", "\(method) \(path): \(reply.status) \(reply.text)")
                        #expect(!reply.text.contains("root:x:0:0") && !reply.text.contains(canary.secret))
                    }
                    let moved = try await client.attack(.post, "/v1/sessions/\(id)/files/move", json: ["from": path, "to": "stolen"])
                    #expect(moved.status == .badRequest && moved.code == "invalid_request", "move \(path): \(moved.text)")
                    let archive = try await client.attack(.get, "/v1/sessions/\(id)/archive?path=\(Percent.encode(path))")
                    #expect(archive.status == .badRequest, "archive \(path): \(archive.status)")
                }
                #expect(canary.intact)
                #expect(!HostFS.exists(planted) && !HostFS.exists(ownHostPath))

                // /workspace/... is the workspace.
                let put = try await client.attack(.put, files(id, "/workspace/x"), bytes: Array("inside\n".utf8))
                #expect(put.status == .ok && put.json["path"] as? String == "x", "\(put.text)")
                #expect(try await client.attack(.get, files(id, "x")).text == "inside\n")
                #expect(try await client.attack(.get, files(id, "/workspace/x")).text == "inside\n")
                let (_, cat) = try await client.exec(id, "cat /workspace/x")
                #expect(cat["stdout"] as? String == "inside\n")
                let root = try await client.attack(.get, files(id, "/workspace"))
                #expect(root.status == .ok && root.entryNames == ["x"])
                #expect(try await client.attack(.delete, files(id, "/workspace/x")).status == .ok)
                #expect(try await client.attack(.get, files(id, "x")).status == .notFound)
            }
        }
    }

    // MARK: - Symlinks

    @Test("symlinks made in the session are never followed: read, write, move, archive refuse or skip them; delete removes the link only")
    func symlinks() async throws {
        let canary = try HostCanary()
        defer { canary.remove() }
        let pwned = "corral-pwned-\(UUID().uuidString.prefix(8))"
        let hostname = HostFS.read("/etc/hostname")
        try await TestService().live { client in
            try await client.withSession { id in
                let (_, made) = try await client.exec(id, """
                    echo inside > t && mkdir real && ln -s /etc/hostname link && ln -s / root && ln -s .. up && ln -s t tlink \
                    && ln -s \(canary.file) hostlink && ln -s \(canary.directory) hostdir && ln -s ../.. real/upup
                    """)
                #expect(made["exit_code"] as? Int == 0, "\(made)")

                let listing = try await client.attack(.get, files(id, ""))
                let types = Dictionary(listing.entries.map { ($0["name"] as? String ?? "", $0["type"] as? String ?? "") }, uniquingKeysWith: { a, _ in a })
                for name in ["link", "root", "up", "tlink", "hostlink", "hostdir"] { #expect(types[name] == "symlink", "\(name): \(types)") }
                #expect(listing.entries.first { $0["name"] as? String == "link" }?["target"] as? String == "/etc/hostname")

                // Reads of a link, or through one, are 400 naming the symlink and hold no byte of the target.
                for path in ["link", "root", "up", "tlink", "hostlink", "hostdir", "root/etc/passwd", "root/etc/hostname", "root/" + canary.file.dropFirst(),
                             "hostdir/canary", "up/workspace/t", "real/upup/x", "real/upup"] {
                    let reply = try await client.attack(.get, files(id, path))
                    #expect(reply.status == .badRequest && reply.code == "invalid_request" && reply.message.contains("symlink"), "GET \(path): \(reply.status) \(reply.text)")
                    #expect(!reply.text.contains("root:x:0:0") && !reply.text.contains(canary.secret))
                }
                // Writes through a link are refused and land nowhere.
                for path in ["root/tmp/\(pwned)", "root/\(pwned)", "up/\(pwned)", "hostdir/\(pwned)", "real/upup/\(pwned)", "up/workspace/\(pwned)"] {
                    let reply = try await client.attack(.put, files(id, path), bytes: Array("pwned\n".utf8))
                    #expect(reply.status == .badRequest && reply.message.contains("symlink"), "PUT \(path): \(reply.status) \(reply.text)")
                }
                for path in ["/tmp/\(pwned)", "/\(pwned)", HostFS.sessionDirectory(id) + "/\(pwned)", HostFS.sessionsRoot + "/\(pwned)"] {
                    #expect(!HostFS.exists(path), "\(path) was created on the host")
                }
                #expect(HostFS.names(canary.directory) == ["canary"] && canary.intact)
                #expect(HostFS.names(HostFS.sessionDirectory(id)) == ["workspace"])
                // Moves through a link are refused too.
                for (from, to) in [("root/etc/passwd", "stolen"), ("hostdir/canary", "stolen"), ("t", "hostdir/moved"), ("t", "root/tmp/\(pwned)")] {
                    let reply = try await client.attack(.post, "/v1/sessions/\(id)/files/move", json: ["from": from, "to": to])
                    #expect(reply.status == .badRequest && reply.message.contains("symlink"), "move \(from) → \(to): \(reply.text)")
                }
                #expect(HostFS.names(canary.directory) == ["canary"] && canary.intact)

                // The archive leaves every link out and holds none of their targets' bytes.
                let archive = try await client.attack(.get, "/v1/sessions/\(id)/archive")
                #expect(archive.status == .ok)
                let entries = try #require(Zip.entries(archive.bytes))
                #expect(Set(entries.map(\.name)) == ["t", "real/"], "\(entries.map(\.name))")
                #expect(entries.first { $0.name == "t" }?.data == Array("inside\n".utf8))
                #expect(!archive.bytes.contains(Array(canary.secret.utf8)) && !archive.bytes.contains(Array("root:x:0:0".utf8)))
                for path in ["root", "hostdir", "up", "real/upup"] {
                    let reply = try await client.attack(.get, "/v1/sessions/\(id)/archive?path=\(path)")
                    #expect(reply.status == .badRequest && !reply.bytes.contains(Array(canary.secret.utf8)), "archive \(path): \(reply.status)")
                }

                // Writing at a link's own path replaces the link, never its target.
                let over = try await client.attack(.put, files(id, "hostlink"), bytes: Array("replaced\n".utf8))
                #expect(over.status == .ok || over.status == .badRequest, "\(over.text)")
                #expect(canary.intact)
                if over.status == .ok { #expect(try await client.attack(.get, files(id, "hostlink")).text == "replaced\n") }

                // DELETE removes the link, not what it points at.
                for path in ["hostdir", "up", "link", "tlink"] {
                    #expect(try await client.attack(.delete, files(id, path)).status == .ok, "DELETE \(path)")
                    #expect(try await client.attack(.get, files(id, path)).status == .notFound, "\(path) is gone")
                }
                #expect(HostFS.names(canary.directory) == ["canary"] && canary.intact, "the host directory a link named survives")
                #expect(HostFS.names(HostFS.sessionDirectory(id)) == ["workspace"])
                #expect(HostFS.read("/etc/hostname") == hostname)
                #expect(try await client.attack(.get, files(id, "t")).text == "inside\n", "the target of a deleted link survives")
            }
        }
    }

    @Test("a directory swapped with a symlink to / while GETs, PUTs and archives run: each sees the directory or refuses")
    func symlinkSwapRace() async throws {
        let name = "corral-toctou-\(UUID().uuidString.prefix(8))"
        let hostSpots = ["/", "/etc/", "/tmp/", "/root/", "/usr/"].map { $0 + name }
        try await TestService().live { client in
            try await client.withSession(["disk_mb": 64]) { id in
                let (_, seeded) = try await client.exec(id, "mkdir -p d && echo safe > d/f")
                #expect(seeded["exit_code"] as? Int == 0)
                // d is a real directory holding f, then a symlink to /, then a directory again, as fast as the shell goes.
                let (_, started) = try await client.exec(id, """
                    while :; do
                      mkdir -p t && echo safe > t/f
                      rm -f d 2>/dev/null; mv -T t d 2>/dev/null
                      ln -sfn / s
                      mv -T d old 2>/dev/null; mv -T s d 2>/dev/null
                      rm -rf old
                    done
                    """, extra: ["background": true])
                let loop = try #require(started["process_id"] as? Int)
                let port = try #require(client.port)
                let payload = Array("put\n".utf8)

                async let gets = Hammer.run(port: port, count: 300) { c, _ in
                    try await Hammer.send(c, .get, "/v1/sessions/\(id)/files?path=d/f")
                }
                async let puts = Hammer.run(port: port, count: 100) { c, _ in
                    try await Hammer.send(c, .put, "/v1/sessions/\(id)/files?path=d/\(name)", body: payload)
                }
                async let archives = Hammer.run(port: port, count: 50) { c, _ in
                    try await Hammer.send(c, .get, "/v1/sessions/\(id)/archive")
                }
                let (g, p, a) = try await (gets, puts, archives)

                let badGets = g.filter { !(($0.status == 200 && $0.body == Array("safe\n".utf8)) || $0.status == 400 || $0.status == 404) }
                #expect(badGets.isEmpty, "GET d/f answered: \(badGets.prefix(3).map { "\($0.status) \(String(decoding: $0.body.prefix(200), as: UTF8.self))" })")
                let badPuts = p.filter { ![200, 400, 404].contains($0.status) }
                #expect(badPuts.isEmpty, "PUT d/\(name) answered: \(badPuts.prefix(3).map { "\($0.status) \(String(decoding: $0.body, as: UTF8.self))" })")
                for spot in hostSpots { #expect(!HostFS.exists(spot), "a PUT landed at \(spot) on the host") }

                for reply in a {
                    #expect(reply.status == 200, "archive: \(reply.status) \(String(decoding: reply.body.prefix(200), as: UTF8.self))")
                    guard reply.status == 200 else { continue }
                    #expect(!reply.body.contains(Array("root:x:0:0".utf8)), "the archive walked into the host's /etc")
                    guard let entries = Zip.entries(reply.body) else { Issue.record("an unreadable archive"); continue }
                    #expect(entries.count <= 12, "the archive holds \(entries.count) entries: \(entries.prefix(20).map(\.name))")
                    for entry in entries {
                        let parts = entry.name.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
                        #expect(["d", "t", "old"].contains(parts.first ?? "") && parts.count <= 2, "unexpected entry \(entry.name)")
                        guard parts.count == 2 else { continue }
                        switch parts[1] {
                        case "f": #expect(entry.data == Array("safe\n".utf8) || (parts[0] == "t" && entry.data.isEmpty), "\(entry.name): \(entry.data)")
                        case name: #expect(entry.data == payload, "\(entry.name)")
                        default: #expect(parts[1].hasPrefix(".corral-"), "unexpected entry \(entry.name)")
                        }
                    }
                }
                print("swap race: GET d/f \(Dictionary(grouping: g, by: \.status).mapValues(\.count)), PUT \(Dictionary(grouping: p, by: \.status).mapValues(\.count))")
                let process = try await client.attack(.get, "/v1/sessions/\(id)/processes/\(loop)")
                #expect(process.json["status"] as? String == "running", "the swapping loop ran throughout")
            }
        }
        for spot in hostSpots where HostFS.exists(spot) { unlink(spot) }
    }

    // MARK: - Names

    @Test("names with newlines, spaces, %, &, ?, # and invalid UTF-8: listed, round-tripped or refused with 400, never a 500")
    func awkwardNames() async throws {
        let names = ["new\nline", "sp ace", "100%", "a&b=c", "q?x", "#h", "plus+sign", "tab\there", "ünïcødé", "-dash", "..dots", "dots..", "a;b", "x'y\"z"]
        try await TestService().live { client in
            try await client.withSession { id in
                // Made in the session with bash.
                let (_, made) = try await client.exec(id, """
                    mkdir w && cd w && printf a > $'new\\nline' && printf a > 'sp ace' && printf a > '100%' && printf a > 'a&b=c' \
                    && printf a > 'q?x' && printf a > '#h' && printf a > 'plus+sign' && printf a > $'tab\\there' && printf a > 'ünïcødé' \
                    && printf a > ./-dash && printf a > ..dots && printf a > dots.. && printf a > 'a;b' && printf a > "x'y\\"z" \
                    && printf bad > $'bad\\xff\\xfename'
                    """)
                #expect(made["exit_code"] as? Int == 0, "\(made)")
                let listing = try await client.attack(.get, files(id, "w"))
                #expect(listing.status == .ok, "\(listing.status) \(listing.text)")
                let listed = Set(listing.entryNames)
                for name in names {
                    #expect(listed.contains(name), "\(name.debugDescription) is listed")
                    let read = try await client.attack(.get, "/v1/sessions/\(id)/files?path=\(Percent.encode("w/" + name))")
                    #expect(read.status == .ok && read.text == "a", "GET \(name.debugDescription): \(read.status) \(read.text)")
                }
                let invalid = try await client.attack(.get, "/v1/sessions/\(id)/files?path=w/bad%FF%FEname")
                #expect([.ok, .badRequest, .notFound].contains(invalid.status), "GET of a non-UTF-8 name: \(invalid.status) \(invalid.text)")
                if invalid.status == .ok { #expect(invalid.text == "bad") }

                // Written through the API with percent-encoded names: the session sees exactly those names.
                for name in names {
                    let put = try await client.attack(.put, "/v1/sessions/\(id)/files?path=\(Percent.encode("w2/" + name))", bytes: Array(name.utf8))
                    #expect(put.status == .ok && put.json["name"] as? String == name, "PUT \(name.debugDescription): \(put.status) \(put.text)")
                    let (_, cat) = try await client.exec(id, "cat -- \"w2/$N\"", extra: ["env": ["N": name]])
                    #expect(cat["stdout"] as? String == name, "the session reads \(name.debugDescription)")
                }
                for raw in ["w2/bad%FFname", "w2/100%", "w2/%", "w2/%zz", "w2/%C0%AE%C0%AE/x", "w2/%E2%80%AE"] {
                    let put = try await client.attack(.put, "/v1/sessions/\(id)/files?path=\(raw)", bytes: [0x41])
                    #expect(put.status == .ok || put.status == .badRequest, "PUT \(raw): \(put.status) \(put.text)")
                }
                let nul = try await client.attack(.put, "/v1/sessions/\(id)/files?path=w2/a%00b", bytes: [0x41])
                #expect(nul.status == .badRequest && nul.code == "invalid_request", "\(nul.text)")
                let moved = try await client.attack(.post, "/v1/sessions/\(id)/files/move", json: ["from": "w2/new\nline", "to": "w2/moved &?%#\n"])
                #expect(moved.status == .ok, "\(moved.text)")
                #expect(try await client.attack(.get, "/v1/sessions/\(id)/files?path=\(Percent.encode("w2/moved &?%#\n"))").text == "new\nline")

                let archive = try await client.attack(.get, "/v1/sessions/\(id)/archive?path=w")
                #expect(archive.status == .ok)
                let archived = Set((Zip.entries(archive.bytes) ?? []).map(\.name))
                for name in names { #expect(archived.contains(name), "\(name.debugDescription) is in the archive") }

                // A directory holding a non-UTF-8 name can be deleted like any other.
                for dir in ["w", "w2"] {
                    let deleted = try await client.attack(.delete, files(id, dir))
                    #expect(deleted.status == .ok, "DELETE \(dir): \(deleted.status) \(deleted.text)")
                    let (_, gone) = try await client.exec(id, "test -e \(dir)")
                    #expect(gone["exit_code"] as? Int == 1, "\(dir) is gone from the session")
                }
                #expect(try await client.attack(.get, "/healthz").status == .ok)
            }
        }
    }

    // MARK: - Sizes

    @Test("100,000 files in a directory: listing and archive are bounded (413) or right, and the server stays responsive")
    func manyFiles() async throws {
        try await TestService().live { client in
            try await client.withSession(["disk_mb": 256]) { id in
                let (_, made) = try await client.exec(id, "mkdir many && cd many && seq 100000 | xargs touch && ls -f | wc -l",
                                                     extra: ["timeout_seconds": 60])
                #expect(made["stdout"] as? String == "100002\n", "\(made)")
                let port = try #require(client.port)

                // While the big requests run, /healthz on another connection answers in well under 2 s.
                let stop = Flag()
                async let health = Hammer.health(port: port, until: stop)
                var big: [(String, Reply)] = []
                do {
                    for uri in ["files?path=many", "archive", "archive?path=many", "files?path=many/77777", "files"] {
                        big.append((uri, try await client.attack(.get, "/v1/sessions/\(id)/\(uri)")))
                    }
                } catch { stop.set(); _ = try? await health; throw error }
                stop.set()
                let latencies = try await health
                #expect(!latencies.isEmpty && latencies.allSatisfy { $0 < 2 }, "/healthz took up to \(latencies.max() ?? -1) s")

                let replies = Dictionary(uniqueKeysWithValues: big)
                let list = try #require(replies["files?path=many"])
                #expect((list.status == .contentTooLarge && list.code == "payload_too_large") || (list.status == .ok && list.entries.count == 100_000),
                        "listing: \(list.status) \(list.text.prefix(200))")
                let whole = try #require(replies["archive"])  // 100,001 entries: the directory and its files, past any cap
                #expect(whole.status == .contentTooLarge && whole.code == "payload_too_large", "archive of the workspace: \(whole.status)")
                let many = try #require(replies["archive?path=many"])  // 100,000 entries: either refused or a zip standard tools read
                #expect(many.status == .ok || many.status == .contentTooLarge, "archive of many: \(many.status)")
                if many.status == .ok {
                    let entries = try #require(Zip.entries(many.bytes))
                    #expect(entries.count == 100_000)
                    // More than 65,535 entries need ZIP64 end records: without them the count standard tools read is wrong.
                    #expect(Zip.declaredCount(many.bytes) == entries.count, "the end record says \(Zip.declaredCount(many.bytes)) entries for \(entries.count)")
                    let path = NSTemporaryDirectory() + "corral-many-\(UUID().uuidString).zip"
                    FileManager.default.createFile(atPath: path, contents: Data(many.bytes))
                    defer { unlink(path) }
                    let (status, output) = TestSupport.hostShell("unzip -qql \(path) | wc -l")
                    #expect(status == 0 && output.trimmingCharacters(in: .whitespacesAndNewlines) == "100000", "unzip lists: \(output.suffix(300))")
                }
                #expect(replies["files?path=many/77777"]?.status == .ok)
                #expect(replies["files"]?.entryNames == ["many"])
                #expect(try await client.attack(.get, "/healthz").status == .ok)
            }
        }
    }

    /// Python for a session: `depth` directories `d/d/d/…` (each in the last, by chdir: no path
    /// grows), and `d/d/keep.txt` near the top.
    static func deepTree(_ depth: Int) -> String {
        "python3 -c \"import os; os.makedirs('d/d'); open('d/d/keep.txt', 'w').write('kept'); os.chdir('d/d'); "
            + "[(os.mkdir('d'), os.chdir('d')) for _ in range(\(depth))]; print(\(depth) + 2, 'directories')\""
    }

    @Test("a tree 20,000 directories deep: the archive leaves what is past 256 levels out, fork and delete refuse saying why, a task ends with its files; the server stays up")
    func deepTree() async throws {
        try await TestService().live { client in
            try await client.withSession(["disk_mb": 256]) { id in
                let (_, made) = try await client.exec(id, Self.deepTree(20_000), extra: ["timeout_seconds": 60])
                #expect(made["stdout"] as? String == "20002 directories\n", "\(made)")

                let archive = try await client.attack(.get, "/v1/sessions/\(id)/archive")
                #expect(archive.status == .ok, "archive: \(archive.status) \(archive.text.prefix(300))")
                let entries = (Zip.entries(archive.bytes) ?? []).map(\.name)
                #expect(entries.contains("d/d/keep.txt") && entries.count >= 256 && entries.count < 300,
                        "the archive holds the top of the tree, not its bottom: \(entries.count) entries")

                // A fork is the whole workspace or nothing.
                let fork = try await client.attack(.post, "/v1/sessions/\(id)/fork", json: [:])
                #expect(fork.status == .conflict && fork.message.contains("levels deep"), "fork: \(fork.status) \(fork.text.prefix(300))")

                let removal = try await client.attack(.delete, files(id, "d"))
                #expect(removal.status == .contentTooLarge && removal.message.contains("rm -rf"), "delete: \(removal.status) \(removal.text.prefix(300))")
                #expect(try await client.attack(.get, "/healthz").status == .ok)
            }
            // A task's files are copied out at its end, whatever its steps made.
            let task = try await client.submitTask(["steps": [["tool": "shell", "command": Self.deepTree(20_000)]]])
            let finished = try await client.waitForTask(task, seconds: 120)
            #expect(finished["status"] as? String == "completed", "\(finished)")
            let zip = try await client.attack(.get, "/v1/tasks/\(task)/output.zip")
            #expect(zip.status == .ok && StoredZip.entries(zip.bytes)["d/d/keep.txt"] == Array("kept".utf8), "output.zip: \(zip.status)")
            #expect(try await client.attack(.get, "/healthz").status == .ok)
        }
    }

    @Test("a diff of 120 changed files of 20,000 lines stops at its budget (2,000,000 lines), names the files it left, and answers")
    func shadowDiffBudget() async throws {
        let tree = try ShadowTree()
        defer { tree.remove() }
        try await TestService { $0.sessions.allowedHostRoots = [tree.root] }.live { client in
            try await client.withSession(["mount": ["host_path": tree.project, "mode": "shadow"], "disk_mb": 256]) { id in
                let (_, made) = try await client.exec(id, "mkdir big && seq 20000 > big/f && for i in $(seq 120); do cp big/f big/f$i; done",
                                                     extra: ["timeout_seconds": 60])
                #expect(made["exit_code"] as? Int == 0, "\(made)")
                let reply = try await client.attack(.get, "/v1/sessions/\(id)/diff")
                let diff = reply.json["diff"] as? String ?? ""
                #expect(reply.status == .ok && diff.contains("more changed files not diffed"), "\(reply.status) \(diff.suffix(400))")
                let one = try await client.attack(.get, "/v1/sessions/\(id)/diff?path=big/f7")
                #expect(one.status == .ok && !(one.json["diff"] as? String ?? "").contains("not diffed ("), "one path is diffed whole: \(one.text.prefix(300))")
            }
        }
    }

    @Test("a shadow session's tree 20,000 directories deep: changes, diff and apply refuse with a 409 naming the depth, nothing is applied")
    func shadowDeepTree() async throws {
        let tree = try ShadowTree()
        defer { tree.remove() }
        let before = HostFS.snapshot(tree.project)
        try await TestService { $0.sessions.allowedHostRoots = [tree.root] }.live { client in
            try await client.withSession(["mount": ["host_path": tree.project, "mode": "shadow"], "disk_mb": 256]) { id in
                let (_, made) = try await client.exec(id, Self.deepTree(20_000), extra: ["timeout_seconds": 60])
                #expect(made["exit_code"] as? Int == 0, "\(made)")
                for (method, uri, body) in [(HTTPRequest.Method.get, "changes", nil), (.get, "diff", nil), (.post, "apply", [:])]
                    as [(HTTPRequest.Method, String, [String: Any]?)] {
                    let reply = try await client.attack(method, "/v1/sessions/\(id)/\(uri)", json: body)
                    #expect(reply.status == .conflict && reply.message.contains("levels deep"),
                            "\(method) \(uri): \(reply.status) \(reply.text.prefix(300))")
                }
                #expect(HostFS.snapshot(tree.project) == before, "nothing was applied")
                #expect(try await client.attack(.get, "/healthz").status == .ok)
            }
        }
    }

    // MARK: - Shadow copies

    @Test("a shadow session's host directory is never written except by apply")
    func shadowLeavesHostAlone() async throws {
        let tree = try ShadowTree()
        defer { tree.remove() }
        try await TestService { $0.sessions.allowedHostRoots = [tree.root] }.live { client in
            let before = HostFS.snapshot(tree.project)
            try await client.withSession(["mount": ["host_path": tree.project, "mode": "shadow"]]) { id in
                let (_, edited) = try await client.exec(id, """
                    echo more >> a.txt && echo new > n.txt && rm b.txt && chmod 600 run.sh && mv sub/d.txt d-moved.txt \
                    && rm -rf sub/deep && mkdir -p x/y && echo z > x/y/z && touch -d 2001-01-01 c.txt && ln -s /etc/passwd lnk \
                    && truncate -s 0 bin.dat && mv sub sub2 && rm -rf sub2 && chmod 700 . && echo hi > .hidden
                    """)
                #expect(edited["exit_code"] as? Int == 0, "\(edited)")
                #expect(try await client.attack(.put, files(id, "c.txt"), bytes: Array("api\n".utf8)).status == .ok)
                #expect(try await client.attack(.put, files(id, "new/deep/file"), bytes: Array("api\n".utf8)).status == .ok)
                #expect(try await client.attack(.post, "/v1/sessions/\(id)/files/move", json: ["from": "a.txt", "to": "a2.txt"]).status == .ok)
                #expect(try await client.attack(.delete, files(id, "run.sh")).status == .ok)
                let changes = try await client.attack(.get, "/v1/sessions/\(id)/changes")
                let changed = Set((changes.json["changes"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String })
                #expect(changed.isSuperset(of: ["n.txt", "b.txt", "a.txt", "a2.txt", "sub", "run.sh"]), "\(changed.sorted())")
                #expect(HostFS.snapshot(tree.project) == before, "the host directory changed while the session ran: \(HostFS.difference(before, HostFS.snapshot(tree.project)))")
            }
            #expect(HostFS.snapshot(tree.project) == before, "the host directory changed when the session ended")
        }
    }

    @Test("apply with a conflict answers 409 naming the file and writes nothing, not even the other chosen paths")
    func shadowConflict() async throws {
        let tree = try ShadowTree()
        defer { tree.remove() }
        try await TestService { $0.sessions.allowedHostRoots = [tree.root] }.live { client in
            try await client.withSession(["mount": ["host_path": tree.project, "mode": "shadow"]]) { id in
                let (_, edited) = try await client.exec(id, "echo session >> a.txt && echo session > b.txt && echo session > n.txt && rm c.txt && mkdir -p m/k && echo x > m/k/f")
                #expect(edited["exit_code"] as? Int == 0)
                try "host edit\n".write(toFile: tree.project + "/a.txt", atomically: false, encoding: .utf8)
                let after = HostFS.snapshot(tree.project)

                for paths in [["a.txt", "b.txt", "n.txt", "c.txt", "m"], nil] as [[String]?] {
                    let reply = try await client.attack(.post, "/v1/sessions/\(id)/apply", json: paths.map { ["paths": $0] } ?? [:])
                    #expect(reply.status == .conflict && reply.code == "conflict", "\(reply.status) \(reply.text)")
                    #expect(reply.message.contains("a.txt") && !reply.message.contains("b.txt") && !reply.message.contains("n.txt"), "\(reply.message)")
                    #expect(HostFS.snapshot(tree.project) == after, "a refused apply wrote: \(HostFS.difference(after, HostFS.snapshot(tree.project)))")
                }
                #expect(HostFS.read(tree.project + "/a.txt") == "host edit\n")

                // Paths out of the workspace name no change: refused, nothing applied.
                for path in ["../x", "/etc/passwd", "a.txt/../../x", "%2e%2e"] {
                    let reply = try await client.attack(.post, "/v1/sessions/\(id)/apply", json: ["paths": [path], "force": true])
                    #expect((400..<500).contains(Int(reply.status.code)) && reply.code != nil, "apply \(path): \(reply.status) \(reply.text)")
                    let diff = try await client.attack(.get, "/v1/sessions/\(id)/diff?path=\(Percent.encode(path))")
                    #expect(diff.status == .badRequest || (diff.status == .ok && diff.json["diff"] as? String == ""), "diff \(path): \(diff.text)")
                }
                #expect(HostFS.snapshot(tree.project) == after)

                // Without the conflicting path the apply goes through (the 409 was not for everything).
                let applied = try await client.attack(.post, "/v1/sessions/\(id)/apply", json: ["paths": ["b.txt", "n.txt", "c.txt", "m"]])
                #expect(applied.status == .ok, "\(applied.text)")
                #expect(HostFS.read(tree.project + "/b.txt") == "session\n" && HostFS.read(tree.project + "/n.txt") == "session\n")
                #expect(!HostFS.exists(tree.project + "/c.txt") && HostFS.read(tree.project + "/m/k/f") == "x\n")
                #expect(HostFS.read(tree.project + "/a.txt") == "host edit\n")
                #expect(HostFS.names(tree.project).allSatisfy { !$0.hasPrefix(".corral") }, "no temporary file is left")
            }
        }
    }

    @Test("apply never writes through a symlink of the host directory that points out of it")
    func shadowApplySymlink() async throws {
        let tree = try ShadowTree()
        defer { tree.remove() }
        let outside = try HostCanary()
        defer { outside.remove() }
        guard symlink(outside.directory, tree.project + "/out") == 0 else { throw SessionTestError("symlink: \(errno)") }
        try await TestService { $0.sessions.allowedHostRoots = [tree.root] }.live { client in
            try await client.withSession(["mount": ["host_path": tree.project, "mode": "shadow"]]) { id in
                // The files API and the archive do not follow the host's link either.
                let read = try await client.attack(.get, files(id, "out/canary"))
                #expect(read.status == .badRequest && !read.text.contains(outside.secret), "\(read.text)")
                #expect(try await client.attack(.put, files(id, "out/evil"), bytes: [0x41]).status == .badRequest)
                let archive = try await client.attack(.get, "/v1/sessions/\(id)/archive")
                #expect(archive.status == .ok && !archive.bytes.contains(Array(outside.secret.utf8)))

                let (_, made) = try await client.exec(id, "rm out c.txt && mkdir out && echo x > out/evil && test ! -L out")
                #expect(made["exit_code"] as? Int == 0, "\(made)")
                let diff = try await client.attack(.get, "/v1/sessions/\(id)/diff")
                #expect(diff.status == .ok && !diff.text.contains(outside.secret))

                // The file alone (with a deletion beside it), while the host's out is still the link: refused, with nothing
                // written outside, and nothing done on the host (not the deletion either).
                let host = HostFS.snapshot(tree.project)
                for paths in [["out/evil"], ["c.txt", "out/evil"]] {
                    for force in [false, true] {
                        let reply = try await client.attack(.post, "/v1/sessions/\(id)/apply", json: ["paths": paths, "force": force])
                        #expect((400..<500).contains(Int(reply.status.code)), "apply \(paths) force \(force): \(reply.status) \(reply.text)")
                        #expect(HostFS.names(outside.directory) == ["canary"] && outside.intact)
                        #expect(HostFS.snapshot(tree.project) == host,
                                "a refused apply \(paths) changed the host: \(HostFS.difference(host, HostFS.snapshot(tree.project)))")
                        if HostFS.snapshot(tree.project) != host { break }
                    }
                }
                #expect(HostFS.isSymlink(tree.project + "/out"))

                // Everything: the link is replaced by a directory in the host directory (or the apply refuses).
                for body in [[:], ["force": true]] as [[String: Any]] {
                    let all = try await client.attack(.post, "/v1/sessions/\(id)/apply", json: body)
                    #expect(HostFS.names(outside.directory) == ["canary"] && outside.intact, "apply \(body) wrote outside: \(all.text)")
                    if all.status == .ok {
                        #expect(!HostFS.isSymlink(tree.project + "/out") && HostFS.read(tree.project + "/out/evil") == "x\n")
                    }
                    print("apply \(body) with out replaced: \(all.status) \(all.text)")
                }
                #expect(HostFS.exists(outside.directory))
            }
        }
    }

    @Test("a path whose type the session changed (file or link to directory, directory to file) applies without force")
    func shadowTypeChanges() async throws {
        let tree = try ShadowTree()
        defer { tree.remove() }
        guard symlink("a.txt", tree.project + "/l") == 0 else { throw SessionTestError("symlink: \(errno)") }
        try await TestService { $0.sessions.allowedHostRoots = [tree.root] }.live { client in
            try await client.withSession(["mount": ["host_path": tree.project, "mode": "shadow"]]) { id in
                let (_, made) = try await client.exec(id, "rm b.txt l && mkdir b.txt l && echo x > b.txt/in && echo y > l/in && rm -rf sub && echo z > sub")
                #expect(made["exit_code"] as? Int == 0, "\(made)")
                // The host did not change since the session began: nothing here is a conflict.
                let file = try await client.attack(.post, "/v1/sessions/\(id)/apply", json: ["paths": ["sub"]])
                #expect(file.status == .ok, "a directory made a file: \(file.status) \(file.text)")
                let applied = try await client.attack(.post, "/v1/sessions/\(id)/apply", json: [:])
                #expect(applied.status == .ok, "\(applied.status) \(applied.text)")
                #expect(HostFS.read(tree.project + "/b.txt/in") == "x\n" && HostFS.read(tree.project + "/l/in") == "y\n", "\(HostFS.names(tree.project))")
                #expect(!HostFS.isSymlink(tree.project + "/l") && HostFS.read(tree.project + "/sub") == "z\n")
                #expect(HostFS.read(tree.project + "/a.txt") == "alpha\n", "the old link's target is untouched")
                let after = try await client.attack(.get, "/v1/sessions/\(id)/changes")
                #expect((after.json["changes"] as? [Any])?.isEmpty == true, "nothing is left to apply: \(after.text)")
            }
        }
    }

    @Test("a file swapped for a FIFO while changes are computed never blocks a server thread on the FIFO")
    func shadowFIFOSwap() async throws {
        let tree = try ShadowTree()
        defer { tree.remove() }
        try "same\n".write(toFile: tree.project + "/f.txt", atomically: false, encoding: .utf8)
        chmod(tree.project + "/f.txt", 0o644)
        try await TestService { $0.sessions.allowedHostRoots = [tree.root] }.live { client in
            try await client.withSession(["mount": ["host_path": tree.project, "mode": "shadow"]]) { id in
                // f.txt is, in turn, a file with the host's bytes and mode (so changes compares contents) and a FIFO.
                let script = """
                    import os
                    os.mkfifo('p', 0o644)
                    with open('r', 'w') as f: f.write('same\\n')
                    os.chmod('r', 0o644)
                    while True:
                        os.link('r', '.a'); os.rename('.a', 'f.txt')
                        os.link('p', '.b'); os.rename('.b', 'f.txt')
                    """
                #expect(try await client.attack(.put, files(id, "swap.py"), bytes: Array(script.utf8)).status == .ok)
                let (_, started) = try await client.exec(id, "exec python3 swap.py", extra: ["background": true])
                let loop = try #require(started["process_id"] as? Int)
                let port = try #require(client.port)
                // The host side of the FIFO: holding a reader and a writer of it open, we put a byte in and look a moment
                // later whether it is still there. Gone means the server opened the session's FIFO and read it as a file
                // (had no writer come, its thread would wait there for good; ours also set such a thread free).
                let fifo = HostFS.sessionDirectory(id) + "/layers/upper/p"
                let stop = Flag()
                let watcher = Task { () -> Int in
                    var consumed = 0, sweeps = 0
                    while !stop.isSet || sweeps < 10 {
                        if stop.isSet { sweeps += 1 }
                        let r = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)  // first, so that writing never raises SIGPIPE
                        let w = r >= 0 ? open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC) : -1
                        if w >= 0 {
                            var byte: UInt8 = 0x58
                            if write(w, &byte, 1) == 1 {
                                try? await Task.sleep(nanoseconds: 20_000_000)
                                if read(r, &byte, 1) != 1 { consumed += 1 }
                            }
                            close(w)
                        }
                        if r >= 0 { close(r) }
                        try? await Task.sleep(nanoseconds: 1_000_000)
                    }
                    return consumed
                }
                let answers = try await Hammer.run(port: port, count: 300) { c, i in
                    try await Hammer.send(c, .get, "/v1/sessions/\(id)/\(i % 3 == 0 ? "diff" : "changes")")
                }
                stop.set()
                let consumed = await watcher.value
                let process = try await client.attack(.get, "/v1/sessions/\(id)/processes/\(loop)")
                #expect(process.json["status"] as? String == "running", "the swapping loop ran throughout")
                let bad = answers.filter { $0.status != 200 }
                #expect(bad.isEmpty, "changes/diff answered: \(bad.prefix(3).map { "\($0.status) \(String(decoding: $0.body, as: UTF8.self))" })")
                #expect(consumed == 0, "the server opened and read a FIFO the session swapped in for f.txt (\(consumed) times seen); without a writer, that thread blocks for good")
                #expect(HostFS.read(tree.project + "/f.txt") == "same\n")
            }
        }
    }

    @Test("more than 100,000 changes: changes, diff and apply refuse with a 4xx (not a 500) and the server stays responsive")
    func shadowTooManyChanges() async throws {
        let tree = try ShadowTree()
        defer { tree.remove() }
        let before = HostFS.snapshot(tree.project)
        try await TestService { $0.sessions.allowedHostRoots = [tree.root] }.live { client in
            try await client.withSession(["mount": ["host_path": tree.project, "mode": "shadow"], "disk_mb": 256]) { id in
                let (_, made) = try await client.exec(id, "mkdir many && cd many && seq 100001 | xargs touch", extra: ["timeout_seconds": 60])
                #expect(made["exit_code"] as? Int == 0, "\(made)")
                for (method, uri, body) in [(HTTPRequest.Method.get, "changes", nil), (.get, "diff", nil), (.post, "apply", [:]),
                                            (.post, "apply", ["paths": ["many/1"]])] as [(HTTPRequest.Method, String, [String: Any]?)] {
                    let reply = try await client.attack(method, "/v1/sessions/\(id)/\(uri)", json: body)
                    #expect((400..<500).contains(Int(reply.status.code)) && reply.code != nil && reply.code != "internal_error",
                            "\(method) \(uri) \(body ?? [:]): \(reply.status) \(reply.text.prefix(300))")
                }
                #expect(HostFS.snapshot(tree.project) == before, "nothing was applied")
                #expect(try await client.attack(.get, "/healthz").status == .ok)
            }
        }
    }

    @Test("a host path outside the allowed roots is 403 forbidden naming the roots, however it is spelled")
    func shadowForbiddenPaths() async throws {
        let tree = try ShadowTree()
        defer { tree.remove() }
        let sibling = tree.root + "-evil"
        try FileManager.default.createDirectory(atPath: sibling, withIntermediateDirectories: true)
        defer { HostFS.removeTree(sibling) }
        guard symlink("/etc", tree.root + "/etc-link") == 0, symlink("/", tree.project + "/rootlink") == 0 else { throw SessionTestError("symlink: \(errno)") }
        let resolvedRoot = try #require(HostFS.realPath(tree.root))
        try await TestService { $0.sessions.allowedHostRoots = [tree.root] }.live { client in
            let refused = ["/etc", "/", tree.root + "/etc-link", tree.root + "/etc-link/ssl", tree.project + "/rootlink", tree.project + "/rootlink/etc",
                           tree.root + "/../../etc", tree.project + "/../../..", sibling, "etc", "tmp/" + tree.root, tree.root + "/missing", "/proc/self/root/etc"]
            for path in refused {
                for mode in ["shadow", "readonly"] {
                    let reply = try await client.attack(.post, "/v1/sessions", json: ["mount": ["host_path": path, "mode": mode]])
                    #expect(reply.status == .forbidden && reply.code == "forbidden", "\(path) (\(mode)): \(reply.status) \(reply.text)")
                    #expect(reply.message.contains(resolvedRoot), "the refusal names the allowed roots: \(reply.message)")
                    if let id = reply.json["session_id"] as? String { _ = try await client.attack(.delete, "/v1/sessions/\(id)") }
                }
            }
            let sessions = try await client.attack(.get, "/v1/sessions")
            #expect((sessions.json["sessions"] as? [Any])?.isEmpty == true, "no session was made: \(sessions.text)")
            // The allowed directory itself works (the refusals were not for everything).
            try await client.withSession(["mount": ["host_path": tree.project, "mode": "shadow"]]) { id in
                let read = try await client.attack(.get, files(id, "a.txt"))
                #expect(read.text == "alpha\n")
            }
        }
    }

    @Test("a host path equal to an allowed root only for Swift's string comparison (café precomposed vs decomposed) is forbidden")
    func shadowCanonicallyEquivalentRoot() async throws {
        let tree = try ShadowTree()
        defer { tree.remove() }
        let allowed = tree.root + "/caf\u{E9}", lookalike = tree.root + "/cafe\u{301}"
        for dir in [allowed, lookalike] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        try "secret\n".write(toFile: lookalike + "/secret.txt", atomically: true, encoding: .utf8)
        #expect(allowed == lookalike && !allowed.utf8.elementsEqual(lookalike.utf8), "equal as Swift strings, two directories on disk")
        try await TestService { $0.sessions.allowedHostRoots = [allowed] }.live { client in
            for path in [lookalike, lookalike + "/"] {
                let reply = try await client.attack(.post, "/v1/sessions", json: ["mount": ["host_path": path, "mode": "readonly"]])
                #expect(reply.status == .forbidden, "\(path.unicodeScalars.map { String($0.value, radix: 16) }): \(reply.status) \(reply.text)")
                if let id = reply.json["session_id"] as? String { _ = try await client.attack(.delete, "/v1/sessions/\(id)") }
            }
            // The allowed one itself mounts.
            let ok = try await client.attack(.post, "/v1/sessions", json: ["mount": ["host_path": allowed, "mode": "readonly"]])
            #expect(ok.status == .ok || ok.status == .created, "\(ok.status) \(ok.text)")
            if let id = ok.json["session_id"] as? String { _ = try await client.attack(.delete, "/v1/sessions/\(id)") }
        }
    }

    // MARK: - Host

    @Test("DELETE unmounts and removes a session's workspace however long the host's mount table is")
    func longMountTable() async throws {
        // Sixty small tmpfs mounts push /proc/self/mountinfo well past one page (what a single read() of it returns).
        let bloat = NSTemporaryDirectory() + "corral-mounts-\(UUID().uuidString)"
        var mounted: [String] = []
        defer {
            for point in mounted.reversed() { umount2(point, Int32(MNT_DETACH)) }
            HostFS.removeTree(bloat)
        }
        for i in 0..<60 {
            let point = bloat + "/m\(i)"
            try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
            guard mount("tmpfs", point, "tmpfs", UInt(MS_NOSUID | MS_NODEV), "size=16k") == 0 else { throw SessionTestError("mount: \(errno)") }
            mounted.append(point)
        }
        #expect(HostFS.mountTable().utf8.count > 8192)
        let tree = try ShadowTree()
        defer { tree.remove() }
        try await TestService { $0.sessions.allowedHostRoots = [tree.root] }.live { client in
            for request in [[:], ["mount": ["host_path": tree.project, "mode": "shadow"]]] as [[String: Any]] {
                let id = try await client.createSession(request)
                #expect(!HostFS.mountPoints(containing: id).isEmpty)
                #expect(try await client.attack(.delete, "/v1/sessions/\(id)").status == .ok)
                let left = HostFS.mountPoints(containing: id)
                #expect(left.isEmpty, "mounts left: \(left)")
                #expect(!SessionHostState.directoryExists(id), "the session's directory is left")
                for point in left.sorted(by: { $0.count > $1.count }) { umount2(point, Int32(MNT_DETACH)) }  // a failure leaves nothing behind
                if !left.isEmpty { _ = TestSupport.hostShell("find '\(HostFS.sessionDirectory(id))' -depth -type d -empty -delete") }
            }
        }
    }

    // MARK: - Ownership

    @Test("a session belongs to the key that made it: 404 for another key on every route, and untouched")
    func ownership() async throws {
        let keyA: HTTPFields = [.init("X-API-Key")!: "KEYA"], keyB: HTTPFields = [.init("X-API-Key")!: "KEYB"]
        try await TestService(apiKeys: ["a": "KEYA", "b": "KEYB"]).live { client in
            let id = try await client.createSession(["files": ["secret.txt": "A's secret\n"]], headers: keyA)
            do { try await Self.foreignKeyIsRefused(client, id: id, keyA: keyA, keyB: keyB) } catch {
                _ = try? await client.attack(.delete, "/v1/sessions/\(id)", headers: keyA)
                throw error
            }
        }
    }

    /// Every route with key B on key A's session (deleted by A at the end).
    private static func foreignKeyIsRefused(_ client: LiveClient, id: String, keyA: HTTPFields, keyB: HTTPFields) async throws {
        let foreign: [(HTTPRequest.Method, String, Any?, [UInt8]?)] = [
            (.get, "/v1/sessions/\(id)", nil, nil),
            (.post, "/v1/sessions/\(id)/exec", ["command": "echo pwned > secret.txt"], nil),
            (.post, "/v1/sessions/\(id)/exec", ["command": "sleep 100", "background": true], nil),
            (.get, "/v1/sessions/\(id)/processes", nil, nil),
            (.get, "/v1/sessions/\(id)/processes/1", nil, nil),
            (.post, "/v1/sessions/\(id)/processes/1/signal", ["signal": "KILL"], nil),
            (.post, "/v1/sessions/\(id)/timeout", ["timeout_seconds": 1], nil),
            (.post, "/v1/sessions/\(id)/contexts", ["language": "python"], nil),
            (.get, "/v1/sessions/\(id)/contexts", nil, nil),
            (.post, "/v1/sessions/\(id)/run_code", ["code": "open('/workspace/secret.txt').read()"], nil),
            (.get, "/v1/sessions/\(id)/files?path=secret.txt", nil, nil),
            (.get, "/v1/sessions/\(id)/files", nil, nil),
            (.put, "/v1/sessions/\(id)/files?path=secret.txt", nil, Array("pwned\n".utf8)),
            (.delete, "/v1/sessions/\(id)/files?path=secret.txt", nil, nil),
            (.post, "/v1/sessions/\(id)/files/move", ["from": "secret.txt", "to": "mine.txt"], nil),
            (.get, "/v1/sessions/\(id)/archive", nil, nil),
            (.get, "/v1/sessions/\(id)/changes", nil, nil),
            (.get, "/v1/sessions/\(id)/diff", nil, nil),
            (.post, "/v1/sessions/\(id)/apply", [:] as [String: Any], nil),
            (.delete, "/v1/sessions/\(id)", nil, nil),
        ]
        let unknown = try await client.attack(.get, "/v1/sessions/ses-000000000000", headers: keyB)
        for (method, uri, json, bytes) in foreign {
            let reply = try await client.attack(method, uri, headers: keyB, json: json, bytes: bytes)
            #expect(reply.status == .notFound && reply.code == "not_found", "\(method) \(uri) with key B: \(reply.status) \(reply.text)")
            #expect(!reply.text.contains("secret"), "\(reply.text)")
            // The answer is the one for a session that does not exist: it tells B nothing.
            #expect(reply.message.replacingOccurrences(of: id, with: "ses-000000000000") == unknown.message, "\(reply.message)")
        }
        let listed = try await client.attack(.get, "/v1/sessions", headers: keyB)
        #expect(listed.status == .ok && (listed.json["sessions"] as? [Any])?.isEmpty == true, "\(listed.text)")
        #expect(try await client.attack(.get, "/v1/sessions/\(id)").status == .unauthorized)

        // A still has it, as it was.
        let info = try await client.attack(.get, "/v1/sessions/\(id)", headers: keyA)
        #expect(info.status == .ok && info.json["status"] as? String == "running")
        let (_, cat) = try await client.exec(id, "cat secret.txt; ls", headers: keyA)
        #expect(cat["stdout"] as? String == "A's secret\nsecret.txt\n")
        #expect(try await client.attack(.get, "/v1/sessions/\(id)/files?path=secret.txt", headers: keyA).text == "A's secret\n")
        #expect(try await client.attack(.delete, "/v1/sessions/\(id)", headers: keyA).status == .ok)
        #expect(try await client.attack(.get, "/v1/sessions/\(id)", headers: keyB).status == .notFound)
        #expect(try await client.attack(.get, "/v1/sessions/\(id)", headers: keyA).status == .gone)
    }
}

// MARK: - Helpers

private func files(_ id: String, _ path: String) -> String {
    "/v1/sessions/\(id)/files?path=\(Percent.encode(path))"
}

/// An answer: status, raw body, and the body as JSON when it is JSON.
private struct Reply {
    let status: HTTPResponse.Status
    let bytes: [UInt8]
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:] }
    var text: String { String(decoding: bytes, as: UTF8.self) }
    var code: String? { errorCode(json) }
    var message: String { errorMessage(json) }
    var entries: [[String: Any]] { json["entries"] as? [[String: Any]] ?? [] }
    var entryNames: [String] { entries.compactMap { $0["name"] as? String } }
}

private extension LiveClient {
    /// Any request: a JSON body, raw bytes, or none.
    func attack(_ method: HTTPRequest.Method, _ uri: String, headers: HTTPFields = [:], json: Any? = nil, bytes: [UInt8]? = nil) async throws -> Reply {
        var h = headers
        var body: ByteBuffer?
        if let json {
            h[.contentType] = "application/json"
            body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))
        } else if let bytes {
            h[.contentType] = "application/octet-stream"
            body = ByteBuffer(bytes: bytes)
        }
        return try await execute(uri: uri, method: method, headers: h, body: body) { response in
            Reply(status: response.status, bytes: Array(response.body.readableBytesView))
        }
    }

    /// Creates a session, runs `body`, and deletes the session whatever happened.
    func withSession(_ request: [String: Any] = [:], _ body: (String) async throws -> Void) async throws {
        let id = try await createSession(request)
        do {
            try await body(id)
        } catch {
            _ = try? await attack(.delete, "/v1/sessions/\(id)")
            throw error
        }
        let deleted = try await attack(.delete, "/v1/sessions/\(id)")
        #expect(deleted.status == .ok, "DELETE \(id): \(deleted.text)")
        #expect(!SessionHostState.directoryExists(id), "the session's host directory is removed")
    }
}

/// Percent-encoding of every byte but ASCII letters, digits and `-._~/`.
private enum Percent {
    static func encode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            if (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || "-._~/".utf8.contains(b) {
                out.append(Character(Unicode.Scalar(b)))
            } else {
                out += String(format: "%%%02X", b)
            }
        }
        return out
    }
}

/// A host directory outside every workspace holding `canary`, whose bytes must never change nor leak.
/// Shadow sessions attacked through their host path and their apply (split from
/// SessionFilesAttackTests; they run after the session suites).
@Suite(.enabled(if: TestSupport.jailsAvailable), .serialized)
struct ShadowApplyAttackTests {
    /// The host path was checked (resolved, under an allowed root) when the session began, and then
    /// opened by name at every changes, diff and apply: replaced by a symlink since (another shadow
    /// session's apply can make one), it had this root process read and write wherever it pointed
    /// (found by a review: /etc/cron.d written, /etc/shadow read through a diff).
    @Test("a shadow session whose host path was replaced by a symlink since it began reads and writes nothing through it (409)")
    func shadowHostPathReplaced() async throws {
        let tree = try ShadowTree()
        let canary = try HostCanary()
        defer { tree.remove(); canary.remove() }
        try await TestService { $0.sessions.allowedHostRoots = [tree.root] }.live { client in
            try await client.withSession(["mount": ["host_path": tree.project + "/sub", "mode": "shadow"]]) { id in
                let (_, edited) = try await client.exec(id, "echo pwned > pwn && echo changed > canary && echo more >> d.txt")
                #expect(edited["exit_code"] as? Int == 0, "\(edited)")
                let (status, output) = TestSupport.hostShell(
                    "mv '\(tree.project)/sub' '\(tree.project)/sub-old' && ln -s '\(canary.directory)' '\(tree.project)/sub'")
                #expect(status == 0, "\(output)")
                for (method, uri, body) in [(HTTPRequest.Method.get, "changes", nil), (.get, "diff", nil), (.post, "apply", [:]),
                                            (.post, "apply", ["force": true])] as [(HTTPRequest.Method, String, [String: Any]?)] {
                    let reply = try await client.attack(method, "/v1/sessions/\(id)/\(uri)", json: body)
                    #expect(reply.status == .conflict && reply.message.contains("no longer names"), "\(method) \(uri): \(reply.status) \(reply.text.prefix(300))")
                    #expect(!reply.text.contains(canary.secret), "\(uri) read the directory the link names")
                }
                #expect(canary.intact, "the directory the link names was written: \(HostFS.names(canary.directory))")
                #expect(HostFS.read(tree.project + "/sub-old/d.txt") == "delta\n")
            }
        }
    }

    /// A sparse file costs its session nothing (tmpfs counts written blocks), and apply wrote it out
    /// on the host whole: 100,000 of them at disk_mb each fill any host disk.
    @Test("sparse files in a shadow session are not written out on the host past its disk_mb: apply answers 413 and writes nothing")
    func shadowSparseApply() async throws {
        let tree = try ShadowTree()
        defer { tree.remove() }
        try await TestService { $0.sessions.allowedHostRoots = [tree.root] }.live { client in
            let before = HostFS.snapshot(tree.project)
            try await client.withSession(["mount": ["host_path": tree.project, "mode": "shadow"], "disk_mb": 8]) { id in
                let (_, made) = try await client.exec(id, "for i in $(seq 50); do truncate -s 7M f$i; done && du -sk . && ls | wc -l")
                #expect(made["exit_code"] as? Int == 0, "\(made)")
                let reply = try await client.attack(.post, "/v1/sessions/\(id)/apply", json: [:])
                #expect(reply.status == .contentTooLarge && reply.message.contains("disk_mb"), "\(reply.status) \(reply.text.prefix(300))")
                #expect(HostFS.snapshot(tree.project) == before, "a refused apply wrote: \(HostFS.difference(before, HostFS.snapshot(tree.project)))")
            }
        }
    }

    @Test("a FIFO among the changes: apply refuses with 409 before anything is written (the deletion it makes first stays undone)")
    func shadowSpecialFileApply() async throws {
        let tree = try ShadowTree()
        defer { tree.remove() }
        try await TestService { $0.sessions.allowedHostRoots = [tree.root] }.live { client in
            let before = HostFS.snapshot(tree.project)
            try await client.withSession(["mount": ["host_path": tree.project, "mode": "shadow"]]) { id in
                let (_, made) = try await client.exec(id, "rm b.txt && mkfifo p && echo new > n.txt")
                #expect(made["exit_code"] as? Int == 0, "\(made)")
                let reply = try await client.attack(.post, "/v1/sessions/\(id)/apply", json: [:])
                #expect(reply.status == .conflict && reply.message.contains("FIFOs"), "\(reply.status) \(reply.text.prefix(300))")
                #expect(HostFS.snapshot(tree.project) == before, "a refused apply wrote: \(HostFS.difference(before, HostFS.snapshot(tree.project)))")
                let rest = try await client.attack(.post, "/v1/sessions/\(id)/apply", json: ["paths": ["b.txt", "n.txt"]])
                #expect(rest.status == .ok, "\(rest.status) \(rest.text.prefix(300))")
                #expect(!HostFS.exists(tree.project + "/b.txt") && HostFS.read(tree.project + "/n.txt") == "new\n")
            }
        }
    }
}

private struct HostCanary {
    let directory: String
    let secret = "CORRAL-CANARY-\(UUID().uuidString)"
    var file: String { directory + "/canary" }

    init() throws {
        directory = NSTemporaryDirectory() + "corral-canary-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try secret.write(toFile: directory + "/canary", atomically: false, encoding: .utf8)
    }

    var intact: Bool { HostFS.read(file) == secret && HostFS.names(directory) == ["canary"] }
    func remove() { HostFS.removeTree(directory) }
}

/// An allowed root holding `project`, the host directory a shadow session mounts.
private struct ShadowTree {
    let root: String
    var project: String { root + "/project" }

    init() throws {
        root = NSTemporaryDirectory() + "corral-shadow-\(UUID().uuidString)"
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/project/sub/deep", withIntermediateDirectories: true)
        for (path, text) in [("a.txt", "alpha\n"), ("b.txt", "bravo\n"), ("c.txt", "charlie\n"), ("run.sh", "#!/bin/sh\necho hi\n"),
                             ("sub/d.txt", "delta\n"), ("sub/deep/e.txt", "echo\n")] {
            try text.write(toFile: root + "/project/" + path, atomically: false, encoding: .utf8)
        }
        fm.createFile(atPath: root + "/project/bin.dat", contents: Data([0, 1, 2, 255]))
        chmod(root + "/project/run.sh", 0o755)
    }

    func remove() { HostFS.removeTree(root) }
}

/// The host's file system, read without following symlinks.
private enum HostFS {
    static var sessionsRoot: String { "/run/corral/sessions/\(getpid())" }
    static func sessionDirectory(_ id: String) -> String { sessionsRoot + "/" + id }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// `rm -rf`: never follows a symlink (some trees hold links to / and /etc).
    static func removeTree(_ path: String) {
        precondition(path.hasPrefix(NSTemporaryDirectory()) && path.count > NSTemporaryDirectory().count + 8)
        _ = TestSupport.hostShell("rm -rf -- '\(path)'")
    }

    /// /proc/self/mountinfo, read to its end (one read() of it returns about a page).
    static func mountTable() -> String {
        let fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var out: [UInt8] = [], buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Mount points of the session `id` (under its directory).
    static func mountPoints(containing id: String) -> [String] {
        mountTable().split(separator: "\n").compactMap { line in line.split(separator: " ").dropFirst(4).first.map(String.init) }
            .filter { $0.hasPrefix(sessionDirectory(id) + "/") }
    }

    static func isSymlink(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFLNK
    }

    static func read(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    static func names(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    /// Every path under `root` (and root itself as "."): type, mode, owner, size, mtime, ctime, inode, and a hash of the bytes or the link target.
    static func snapshot(_ root: String) -> [String: String] {
        var out: [String: String] = [:]
        func walk(_ relative: String) {
            let full = relative.isEmpty ? root : root + "/" + relative
            var st = stat()
            guard lstat(full, &st) == 0 else { out[relative.isEmpty ? "." : relative] = "missing"; return }
            var line = "mode=\(String(st.st_mode, radix: 8)) owner=\(st.st_uid):\(st.st_gid) size=\(st.st_size) ino=\(st.st_ino) "
                + "mtime=\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec) ctime=\(st.st_ctim.tv_sec).\(st.st_ctim.tv_nsec)"
            switch st.st_mode & S_IFMT {
            case S_IFREG: line += " fnv=\(fnv(FileManager.default.contents(atPath: full).map { [UInt8]($0) } ?? []))"
            case S_IFLNK: line += " -> \((try? FileManager.default.destinationOfSymbolicLink(atPath: full)) ?? "?")"
            case S_IFDIR: for name in names(full) { walk(relative.isEmpty ? name : relative + "/" + name) }
            default: break
            }
            out[relative.isEmpty ? "." : relative] = line
        }
        walk("")
        return out
    }

    static func difference(_ a: [String: String], _ b: [String: String]) -> [String] {
        Set(a.keys).union(b.keys).sorted().filter { a[$0] != b[$0] }.map { "\($0): \(a[$0] ?? "absent") → \(b[$0] ?? "absent")" }
    }

    static func fnv(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}

/// The entries of a zip, read from its central directory (to its end, whatever count the end record claims).
private enum Zip {
    struct Entry { var name: String; var data: [UInt8] }

    static func endRecord(_ z: [UInt8]) -> Int? {
        guard z.count >= 22 else { return nil }
        var i = z.count - 22
        while i >= 0 {
            if z[i] == 0x50, z[i + 1] == 0x4b, z[i + 2] == 5, z[i + 3] == 6 { return i }
            i -= 1
        }
        return nil
    }

    static func declaredCount(_ z: [UInt8]) -> Int { endRecord(z).map { u16(z, $0 + 10) } ?? -1 }

    static func entries(_ z: [UInt8]) -> [Entry]? {
        guard let end = endRecord(z) else { return nil }
        let size = u32(z, end + 12), start = u32(z, end + 16)
        guard start + size <= end else { return nil }
        var p = start, out: [Entry] = []
        while p < start + size {
            guard p + 46 <= z.count, u32(z, p) == 0x0201_4b50 else { return nil }
            let length = u32(z, p + 20), n = u16(z, p + 28), extra = u16(z, p + 30), comment = u16(z, p + 32), local = u32(z, p + 42)
            guard p + 46 + n <= z.count, local + 30 <= z.count else { return nil }
            let name = String(decoding: z[(p + 46)..<(p + 46 + n)], as: UTF8.self)
            let data = local + 30 + u16(z, local + 26) + u16(z, local + 28)
            guard data + length <= z.count else { return nil }
            out.append(Entry(name: name, data: Array(z[data..<(data + length)])))
            p += 46 + n + extra + comment
        }
        return out
    }

    static func u16(_ z: [UInt8], _ i: Int) -> Int { Int(z[i]) | Int(z[i + 1]) << 8 }
    static func u32(_ z: [UInt8], _ i: Int) -> Int { u16(z, i) | u16(z, i + 2) << 16 }
}

/// A stop signal shared between tasks.
private final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}

/// Requests on connections of their own, so that they run beside the test's client.
private enum Hammer {
    struct Answer: Sendable { var status: Int; var body: [UInt8] }

    /// `count` requests in sequence on one new connection.
    static func run(port: Int, count: Int, _ request: @escaping @Sendable (TestClient, Int) async throws -> Answer) async throws -> [Answer] {
        try await TestClient.withClient(host: "localhost", port: port, configuration: .init(timeout: .seconds(20))) { client in
            var out: [Answer] = []
            for i in 0..<count { out.append(try await request(client, i)) }
            return out
        }
    }

    static func send(_ client: TestClient, _ method: HTTPRequest.Method, _ uri: String, body: [UInt8]? = nil) async throws -> Answer {
        var headers = HTTPFields()
        headers[.connection] = "keep-alive"
        if body != nil { headers[.contentType] = "application/octet-stream" }
        let response = try await client.execute(TestClient.Request(uri, method: method, authority: "localhost", headers: headers,
                                                                   body: body.map { ByteBuffer(bytes: $0) }))
        return Answer(status: Int(response.status.code), body: response.body.map { Array($0.readableBytesView) } ?? [])
    }

    /// Seconds each `/healthz` took, asked every 50 ms until `stop` is set.
    static func health(port: Int, until stop: Flag) async throws -> [Double] {
        try await TestClient.withClient(host: "localhost", port: port, configuration: .init(timeout: .seconds(20))) { client in
            var latencies: [Double] = []
            repeat {
                let started = ContinuousClock.now
                let answer = try await send(client, .get, "/healthz")
                let took = ContinuousClock.now - started
                latencies.append(Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18)
                if answer.status != 200 { latencies.append(.infinity) }
                try await Task.sleep(nanoseconds: 50_000_000)
            } while !stop.isSet
            return latencies
        }
    }
}

private extension Array where Element == UInt8 {
    func contains(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return needle.isEmpty }
        var i = 0
        while i + needle.count <= count {
            if self[i] == needle[0] && self[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }
}
