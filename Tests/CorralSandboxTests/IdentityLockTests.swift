@testable import CorralSandbox
import CorralTestSupport
import Foundation
import Testing

/// Jail identities are exclusive host-wide: two Corral processes on one host (two fleet instances,
/// a CLI run beside a server) must never give two live jails the same host uid.
@Suite(.serialized, .enabled(if: geteuid() == 0))
struct IdentityLockTests {
    static func directory() -> String { NSTemporaryDirectory() + "corral-identities-\(UUID().uuidString)" }

    @Test("two pools (two instances) on one host hand out disjoint slots; a released slot is free for the other")
    func disjointAcrossInstances() throws {
        let dir = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = JailIdentityPool(slots: 8, lockDirectory: dir), b = JailIdentityPool(slots: 8, lockDirectory: dir)
        let fromA = try (0..<3).map { _ in try a.acquire() }
        let fromB = try (0..<3).map { _ in try b.acquire() }
        #expect(Set(fromA.map(\.slot)).isDisjoint(with: fromB.map(\.slot)), "A \(fromA.map(\.slot)), B \(fromB.map(\.slot))")
        #expect(Set(fromA.map(\.programHostID)).isDisjoint(with: fromB.map(\.programHostID)))
        // All 8 in use: a ninth is refused, naming the other processes.
        let rest = try (0..<2).map { _ in try b.acquire() }
        do { _ = try a.acquire(); Issue.record("a ninth slot was handed out") } catch {
            #expect("\(error)".contains("other corral processes"), "\(error)")
        }
        a.release(fromA[0])
        let reused = try b.acquire()
        #expect(reused.slot == fromA[0].slot)
        for i in fromA.dropFirst() { a.release(i) }
        for i in fromB + rest + [reused] { b.release(i) }
        #expect(a.inUse == 0 && b.inUse == 0)
    }

    @Test("a slot locked by another process is skipped until that process dies")
    func lockHeldByAnotherProcess() throws {
        let dir = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = ["-o", dir + "/0", "sleep", "31"]  // -o: flock itself holds the lock, not its sleep
        try holder.run()
        defer { if holder.isRunning { kill(holder.processIdentifier, SIGKILL) }; _ = TestSupport.hostShell("pkill -f 'sleep 31' || true") }
        // Until the other process holds slot 0's lock.
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            let probe = Process()
            probe.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
            probe.arguments = ["-n", dir + "/0", "true"]
            try probe.run(); probe.waitUntilExit()
            if probe.terminationStatus != 0 { break }
            usleep(20_000)
        }
        let pool = JailIdentityPool(slots: 4, lockDirectory: dir)
        let first = try pool.acquire()
        #expect(first.slot == 1, "slot 0 is another process's: got \(first.slot)")
        kill(holder.processIdentifier, SIGKILL)  // as a killed instance dies
        let gone = Date().addingTimeInterval(5)
        while Date() < gone, kill(holder.processIdentifier, 0) == 0 || errno != ESRCH {
            var status: Int32 = 0
            _ = waitpid(holder.processIdentifier, &status, WNOHANG)
            usleep(10_000)
        }
        let others = try (0..<3).map { _ in try pool.acquire() }
        #expect(others.map(\.slot).contains(0), "slot 0 is free once its holder died: \(others.map(\.slot))")
        for i in [first] + others { pool.release(i) }
    }
}
