import Foundation
import Glibc

/// What this host offers the sandbox, for `corral doctor`: each kernel feature,
/// whether it works, and what is degraded and why.
public struct HostReport: Sendable, Codable {
    public struct Check: Sendable, Codable {
        public var name: String
        public var ok: Bool
        public var detail: String

        public init(name: String, ok: Bool, detail: String) {
            self.name = name; self.ok = ok; self.detail = detail
        }
    }
    public var kernel: String
    public var cgroupVersion: String
    public var cgroupControllers: [String]
    public var checks: [Check]
    public var degraded: [String]
    /// A real jail ran `/bin/true` and succeeded.
    public var jailWorks: Bool

    enum CodingKeys: String, CodingKey {
        case kernel, checks, degraded
        case cgroupVersion = "cgroup_version"
        case cgroupControllers = "cgroup_controllers"
        case jailWorks = "jail_works"
    }

    /// Probes the host, including one real jail run with `sandbox`.
    public static func probe(sandbox: Sandbox?) async -> HostReport {
        var uts = utsname()
        uname(&uts)
        let kernel = withUnsafeBytes(of: &uts.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        var checks: [Check] = []
        for ns in ["user", "pid", "mnt", "net", "ipc", "uts", "cgroup"] {
            checks.append(Check(name: "namespace.\(ns)", ok: Posix.exists("/proc/self/ns/\(ns)"), detail: "/proc/self/ns/\(ns)"))
        }
        let maxUserNS = Posix.readFile("/proc/sys/user/max_user_namespaces")?.trimmingWhitespace ?? "?"
        checks.append(Check(name: "user_namespaces.max", ok: (Int(maxUserNS) ?? 0) > 0, detail: maxUserNS))
        let seccompActions = Posix.readFile("/proc/sys/kernel/seccomp/actions_avail")?.trimmingWhitespace ?? ""
        checks.append(Check(name: "seccomp", ok: seccompActions.contains("errno"), detail: seccompActions.isEmpty ? "not supported" : seccompActions))
        switch SeccompFilter.program {
        case .success(let bpf): checks.append(Check(name: "seccomp.filter", ok: true, detail: "\(bpf.count / 8) BPF instructions"))
        case .failure(let e): checks.append(Check(name: "seccomp.filter", ok: false, detail: e.description))
        }
        let filesystems = Posix.readFile("/proc/filesystems") ?? ""
        checks.append(Check(name: "overlayfs", ok: filesystems.contains("overlay"), detail: filesystems.contains("overlay") ? "available" : "not in /proc/filesystems"))
        checks.append(Check(name: "slirp4netns", ok: SlirpNetwork.executable != nil,
                            detail: SlirpNetwork.executable ?? "missing: --network runs fail (apt-get install slirp4netns)"))
        checks.append(Check(name: "running_as_root", ok: geteuid() == 0, detail: "euid \(geteuid())"))

        let hierarchy = sandbox?.cgroups ?? CgroupHierarchy.detect()
        var controllers: [String] = []
        var degraded = sandbox?.degradations ?? []
        switch hierarchy {
        case .v2(let root):
            controllers = (Posix.readFile(root + "/cgroup.subtree_control") ?? "").split(whereSeparator: \.isWhitespace).map(String.init)
            checks.append(Check(name: "cgroup", ok: true, detail: "v2 at \(root), jails cloned straight into their group"))
        case .v1(let roots):
            controllers = roots.keys.sorted()
            checks.append(Check(name: "cgroup", ok: true, detail: "v1 (" + roots.map { "\($0.key) at \($0.value)" }.sorted().joined(separator: ", ")
                                + "); moving a process costs an RCU grace period when idle, hidden by the jail pool"))
        case .unavailable(let reason):
            checks.append(Check(name: "cgroup", ok: false, detail: reason))
            if degraded.isEmpty { degraded.append("no cgroups: \(reason); limits fall back to rlimits") }
        }
        var jailWorks = false
        if let sandbox {
            let result = await sandbox.run(JailSpec(arguments: ["/bin/true"]))
            jailWorks = result.status == .success
            checks.append(Check(name: "jail", ok: jailWorks, detail: jailWorks
                ? String(format: "ran /bin/true in %.1f ms", result.executionTimeMs) : (result.errorMessage ?? result.status.rawValue)))
        }
        if SlirpNetwork.executable == nil { degraded.append("no slirp4netns: runs with network access are refused") }
        return HostReport(kernel: kernel, cgroupVersion: hierarchy.versionName, cgroupControllers: controllers,
                          checks: checks, degraded: degraded, jailWorks: jailWorks)
    }
}
