import CorralEngine
import CorralHTTP
import CorralTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Session-wide limits, attacked from inside: every process of the session counts against its
/// memory, processes, disk and CPU share; the attack is contained and the session stays usable.
@Suite(.enabled(if: TestSupport.jailsAvailable), .serialized)
struct SessionLimitTests {
    @Test("a fork bomb hits the session's process limit; it dies with its command and the session stays usable")
    func forkBomb() async throws {
        try await TestService().live { client in
            let id = try await client.createSession(["processes": 64])
            let (_, bomb) = try await client.exec(id, "b7391() { b7391 | b7391 & }; b7391; sleep 3", extra: ["timeout_seconds": 3])
            // Whether the shell's own `sleep` could fork or not, the command ends (by itself or its timeout)
            // and takes every process it left in its group with it.
            #expect(["timeout", "error", "killed", "success"].contains(bomb["status"] as? String ?? ""), "\(bomb)")
            try await Task.sleep(nanoseconds: 500_000_000)
            let (_, after) = try await client.exec(id, "echo alive")
            #expect(after["stdout"] as? String == "alive\n", "\(after)")
            #expect(SessionLifecycleTests.hostProcesses(matching: "b7391").isEmpty, "no process of the bomb is left")
            _ = try await client.delete("/v1/sessions/\(id)")
        }
    }

    @Test("a memory bomb is killed by the session's memory limit (memory_limit); the session stays usable")
    func memoryBomb() async throws {
        try await TestService().live { client in
            let id = try await client.createSession(["max_memory_mb": 128])
            let (_, bomb) = try await client.exec(id, "python3 -c \"b = []\nwhile True: b.append(bytearray(16 << 20))\"", extra: ["timeout_seconds": 20])
            #expect(bomb["status"] as? String == "memory_limit", "\(bomb)")
            let (_, after) = try await client.exec(id, "echo alive")
            #expect(after["stdout"] as? String == "alive\n", "\(after)")
            _ = try await client.delete("/v1/sessions/\(id)")
        }
    }

    @Test("a disk filler stops at disk_mb; the session recovers once it deletes")
    func diskFiller() async throws {
        try await TestService().live { client in
            let id = try await client.createSession(["disk_mb": 32, "max_memory_mb": 256])
            let (_, fill) = try await client.exec(id, "dd if=/dev/zero of=big bs=1M count=100 2>&1; ls -l big | awk '{print $5}'")
            let stdout = fill["stdout"] as? String ?? "", stderr = fill["stderr"] as? String ?? ""
            // The disk (ENOSPC) or the file-size limit set to the same size (SIGXFSZ) stops it first.
            #expect(stdout.contains("No space left on device") || stderr.contains("File size limit exceeded"), "\(fill)")
            let size = Int(stdout.split(separator: "\n").last.map(String.init) ?? "") ?? 0
            #expect(size <= 32 << 20, "the file stopped at the session's disk: \(size) bytes")
            let (_, recover) = try await client.exec(id, "rm big && echo ok > small && cat small")
            #expect(recover["stdout"] as? String == "ok\n")
            _ = try await client.delete("/v1/sessions/\(id)")
        }
    }

    /// The agent starts at a core's share and gets the session's own once it has answered (its
    /// start-up is not the session's to pay): the share must hold from the first command on.
    @Test("cpu_percent 50 and 10 (the least): a busy loop gets at most its share of one core over 2 s", arguments: [50, 10])
    func cpuShare(percent: Int) async throws {
        try await TestService().live { client in
            let id = try await client.createSession(["cpu_percent": percent])
            let (_, busy) = try await client.exec(id, "timeout 2 bash -c 'while :; do :; done'; true", extra: ["timeout_seconds": 10])
            let cpu = busy["cpu_time_ms"] as? Double ?? 0, wall = busy["execution_time_ms"] as? Double ?? 1
            let share = Double(percent) / 100
            #expect(wall >= 1900, "\(busy)")
            #expect(cpu / wall <= share * 1.1 + 0.01, "cpu_percent \(percent): CPU \(cpu) ms over \(wall) ms")
            #expect(cpu / wall >= share * 0.6, "the loop did run: CPU \(cpu) ms over \(wall) ms")
            _ = try await client.delete("/v1/sessions/\(id)")
        }
    }
}
