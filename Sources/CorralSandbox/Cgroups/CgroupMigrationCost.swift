import Foundation
import Glibc

/// What moving a process into a cgroup costs on this host, for `corral doctor`.
///
/// On cgroup v1 each jail's init is moved into its group by a write to `cgroup.procs`. Without
/// `favordynmods` that write takes the global `cgroup_threadgroup_rwsem` for writing, which waits
/// out an RCU grace period whenever no other move happened in the last ~20 ms: 5–20 ms on an idle
/// host, paid once by every `corral run` (the service hides it behind its pool). With
/// `favordynmods` the kernel skips that wait (Linux 6.18 takes a per-process lock instead); on
/// this kind of host it measured 0.2 ms instead of 12 ms. The option is host-wide (fork and exit
/// get slightly slower everywhere), so Corral only measures and recommends it, never sets it.
public struct CgroupMigrationCost: Sendable, Codable {
    /// Median milliseconds of a move after a pause with no other move; nil when not measured.
    public var idleMoveMs: Double?
    /// Whether the kernel knows the option (`/sys/kernel/cgroup/features`).
    public var favordynmodsSupported: Bool
    /// cgroup mounts that carry the option now.
    public var favordynmodsMounts: [String]
    /// What to do, when the cost is worth removing; nil when nothing is.
    public var recommendation: String?
    /// Why nothing was measured (cgroup v2, no writable hierarchy, a failed step).
    public var note: String?

    enum CodingKeys: String, CodingKey {
        case recommendation, note
        case idleMoveMs = "idle_move_ms", favordynmodsSupported = "favordynmods_supported"
        case favordynmodsMounts = "favordynmods_mounts"
    }

    /// A move costing more than this (ms) is worth a recommendation.
    static let recommendAboveMs = 2.0

    /// Measures three moves of a short-lived child into a scratch group of the `pids`
    /// hierarchy, each after 150 ms with no move of ours. Takes about half a second.
    public static func measure(in hierarchy: CgroupHierarchy) -> CgroupMigrationCost {
        let features = Posix.readFile("/sys/kernel/cgroup/features") ?? ""
        let supported = features.split(whereSeparator: \.isWhitespace).contains("favordynmods")
        let mounts = (Posix.readFile("/proc/self/mountinfo") ?? "").split(separator: "\n").compactMap { line -> String? in
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2, halves[1].hasPrefix("cgroup"), halves[1].contains("favordynmods") else { return nil }
            let left = halves[0].split(separator: " ")
            return left.count >= 5 ? String(left[4]) : nil
        }
        var cost = CgroupMigrationCost(favordynmodsSupported: supported, favordynmodsMounts: mounts)
        guard case .v1(let roots) = hierarchy, let pidsRoot = roots["pids"] else {
            cost.note = hierarchy.versionName == "v2"
                ? "cgroup v2: jails are cloned straight into their group (CLONE_INTO_CGROUP), nothing is moved"
                : "no writable cgroup v1 pids hierarchy to measure in"
            return cost
        }
        // Named like a jail's group (`<pid>-…`) so that a start-up after a killed doctor removes it.
        let scratch = pidsRoot + "/\(getpid())-doctor"
        guard mkdir(scratch, 0o755) == 0 || errno == EEXIST else {
            cost.note = "cannot create \(scratch): \(String(cString: strerror(errno)))"
            return cost
        }
        defer {
            // The reaped children leave the group a moment after their wait returns.
            for _ in 0..<200 where rmdir(scratch) != 0 && errno == EBUSY { usleep(500) }
        }
        var samples: [Double] = []
        for _ in 0..<3 {
            usleep(150_000)
            guard let ms = timeOneMove(into: scratch) else { break }
            samples.append(ms)
        }
        guard !samples.isEmpty else {
            cost.note = "could not move a child process into \(scratch)"
            return cost
        }
        let median = samples.sorted()[samples.count / 2]
        cost.idleMoveMs = (median * 100).rounded() / 100
        if median > recommendAboveMs {
            cost.recommendation = supported
                ? String(format: "moving a jail into its cgroup took %.1f ms: each `corral run` waits that long for the kernel "
                         + "(an RCU grace period). The favordynmods cgroup option removes the wait host-wide, at a small cost "
                         + "to fork and exit: boot with cgroup_favordynmods=1, or (Linux 6.18+, stays on until reboot) mount "
                         + "one hierarchy with it: mkdir -p /run/corral-favordynmods && mount -t cgroup -o "
                         + "none,name=corral-favordynmods,favordynmods cgroup /run/corral-favordynmods. "
                         + "Corral never changes it itself.", median)
                : String(format: "moving a jail into its cgroup took %.1f ms (an RCU grace period) and this kernel has no "
                         + "favordynmods option to avoid it (Linux 6.0+); `corral serve` hides it behind its pool.", median)
        }
        return cost
    }

    /// Spawns `/bin/sleep 5`, times the write of its pid to `group`'s `cgroup.procs`, kills and reaps it.
    private static func timeOneMove(into group: String) -> Double? {
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sleep"), strdup("5"), nil]
        defer { argv.forEach { free($0) } }
        guard posix_spawn(&pid, "/bin/sleep", nil, nil, argv, nil) == 0 else { return nil }
        defer {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
        let start = Posix.monotonicNanoseconds()
        do throws(SandboxError) { try Posix.writeFile(group + "/cgroup.procs", String(pid)) } catch { return nil }
        return Double(Posix.monotonicNanoseconds() - start) / 1e6
    }
}
