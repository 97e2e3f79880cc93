import CorralTestSupport
import Foundation
import Testing

/// A server killed with SIGKILL leaves its sessions' mounts, directories and cgroups behind (its
/// jails die with it: their parent-death signal); the next server removes all of it at start-up.
@Suite(.enabled(if: TestSupport.jailsAvailable), .serialized)
struct SessionRestartTests {
    @Test("SIGKILL with live sessions (scratch and shadow, a background process), then restart: nothing of them remains")
    func killedServerLeavesNothing() async throws {
        let host = try CorralCLI.temporaryDirectory()
        try "original\n".write(to: host.appendingPathComponent("a.txt"), atomically: true, encoding: .utf8)
        let first = try await ReleaseServer.start(binary: CorralCLI.binary, extra: ["--warm-pool", "off", "--allow-host-path", host.path])
        let pid = first.process.processIdentifier
        let scratch = try await first.post("/v1/sessions", [:])
        let shadow = try await first.post("/v1/sessions", ["mount": ["host_path": host.path, "mode": "shadow"]])
        let scratchID = try #require(scratch.1["session_id"] as? String, "\(scratch)")
        let shadowID = try #require(shadow.1["session_id"] as? String, "\(shadow)")
        let marker = "sleep 7391"
        _ = try await first.post("/v1/sessions/\(scratchID)/exec", ["command": marker, "background": true])
        _ = try await first.post("/v1/sessions/\(shadowID)/exec", ["command": "echo changed > a.txt"])
        #expect(!Self.mounts(of: pid).isEmpty, "the sessions' workspaces are mounted")

        kill(pid, SIGKILL)
        first.process.waitUntilExit()
        try await Task.sleep(nanoseconds: 300_000_000)
        #expect(Self.processes(matching: marker).isEmpty, "the jails died with their server")
        #expect(!Self.mounts(of: pid).isEmpty, "a killed server could not unmount (the test would prove nothing otherwise)")

        let second = try await ReleaseServer.start(binary: CorralCLI.binary, extra: ["--warm-pool", "off"])
        defer { second.stop(); try? FileManager.default.removeItem(at: host) }
        #expect(Self.mounts(of: pid).isEmpty, "start-up unmounted what the killed server left: \(Self.mounts(of: pid))")
        #expect(!FileManager.default.fileExists(atPath: "/run/corral/sessions/\(pid)"), "and removed its directories")
        #expect(Self.cgroups(of: pid).isEmpty, "and its cgroups: \(Self.cgroups(of: pid))")
        #expect(try String(contentsOf: host.appendingPathComponent("a.txt"), encoding: .utf8) == "original\n",
                "the shadowed host directory was never written")
        let (status, _) = try await second.post("/v1/sessions", [:])
        #expect(status == 200, "the new server makes sessions")
    }

    static func mounts(of pid: Int32) -> [String] {
        // Read to the end: /proc answers a page per read.
        String(decoding: FileHandle(forReadingAtPath: "/proc/self/mountinfo")?.readDataToEndOfFile() ?? Data(), as: UTF8.self).split(separator: "\n")
            .map(String.init).filter { $0.contains("/run/corral/sessions/\(pid)/") }
    }

    static func cgroups(of pid: Int32) -> [String] {
        ["/sys/fs/cgroup/memory/corral", "/sys/fs/cgroup/pids/corral", "/sys/fs/cgroup/cpu/corral", "/sys/fs/cgroup/corral"].flatMap { root in
            ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { $0.hasPrefix("\(pid)-") }
        }
    }

    static func processes(matching text: String) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init).filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).contains(text)
        }
    }
}
