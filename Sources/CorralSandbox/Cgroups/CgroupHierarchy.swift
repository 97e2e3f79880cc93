import Foundation
import Glibc

/// Where Corral can create cgroups on this host, found once at start.
public enum CgroupHierarchy: Sendable, Equatable {
    /// Unified hierarchy: one directory under which `memory`, `pids` and `cpu` are enabled.
    case v2(root: String)
    /// Legacy hierarchies: one directory per controller (`memory`, `pids`, `cpu`, `cpuacct`).
    case v1(roots: [String: String])
    /// No writable cgroup: limits fall back to rlimits.
    case unavailable(reason: String)

    static let v1Controllers = ["memory", "pids", "cpu", "cpuacct"]

    /// Finds a writable hierarchy and creates Corral's parent group in it.
    public static func detect(name: String = "corral") -> CgroupHierarchy {
        detect(mountInfo: Posix.readFile("/proc/self/mountinfo"), name: name)
    }

    static func detect(mountInfo: String?, name: String) -> CgroupHierarchy {
        guard let mountInfo else { return .unavailable(reason: "cannot read /proc/self/mountinfo") }
        var v1: [String: String] = [:]
        var v2Mounts: [String] = []
        for line in mountInfo.split(separator: "\n") {
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { continue }
            let left = halves[0].split(separator: " "), right = halves[1].split(separator: " ")
            guard left.count >= 5, right.count >= 3 else { continue }
            let mountPoint = String(left[4])
            if right[0] == "cgroup2" { v2Mounts.append(mountPoint) }
            if right[0] == "cgroup" {
                for option in right[2].split(separator: ",") where v1Controllers.contains(String(option)) {
                    v1[String(option)] = mountPoint
                }
            }
        }
        // Prefer v2 when it holds the controllers (production hosts); else v1 (these machines).
        for mount in v2Mounts {
            let controllers = (Posix.readFile(mount + "/cgroup.controllers") ?? "").split(whereSeparator: \.isWhitespace)
            guard controllers.contains("memory"), controllers.contains("pids") else { continue }
            let root = mount + "/" + name
            do {
                try Posix.makeDirectories(root)
                try Posix.writeFile(mount + "/cgroup.subtree_control", "+memory +pids" + (controllers.contains("cpu") ? " +cpu" : ""))
                try Posix.writeFile(root + "/cgroup.subtree_control", "+memory +pids" + (controllers.contains("cpu") ? " +cpu" : ""))
                return .v2(root: root)
            } catch {
                continue
            }
        }
        if v1["memory"] != nil, v1["pids"] != nil {
            var roots: [String: String] = [:]
            for (controller, mount) in v1 {
                let root = mount + "/" + name
                do { try Posix.makeDirectories(root) } catch {
                    return .unavailable(reason: "cgroup v1 \(controller) is not writable at \(root): \(error)")
                }
                roots[controller] = root
            }
            return .v1(roots: roots)
        }
        return .unavailable(reason: v2Mounts.isEmpty && v1.isEmpty
            ? "no cgroup filesystem is mounted"
            : "no cgroup hierarchy with memory and pids controllers is writable")
    }

    public var versionName: String {
        switch self {
        case .v2: "v2"
        case .v1: "v1"
        case .unavailable: "none"
        }
    }
}
