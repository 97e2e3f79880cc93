import CorralSandbox
import Foundation
import Glibc

/// The host a report was measured on.
struct MachineInfo: Sendable, Encodable {
    var hostname: String
    var kernel: String
    var architecture: String
    var cpus: Int
    var cpuModel: String
    var memoryMB: Int
    var cgroup: String
    /// 1, 5 and 15 minute load averages when the report was made (other work skews figures).
    var loadAverage: [Double]

    enum CodingKeys: String, CodingKey {
        case hostname, kernel, architecture, cpus
        case cpuModel = "cpu_model", memoryMB = "memory_mb", cgroup
        case loadAverage = "load_average"
    }

    /// `/proc/loadavg`'s first three figures.
    static func loadAverageNow() -> [Double] {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        return text.split(separator: " ").prefix(3).compactMap { Double($0) }
    }

    static func current(cgroup: CgroupHierarchy = CgroupHierarchy.detect()) -> MachineInfo {
        var names = utsname()
        uname(&names)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        }
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
        let meminfo = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
        let memKB = meminfo.split(separator: "\n").first { $0.hasPrefix("MemTotal:") }
            .flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Int($0) } ?? 0
        return MachineInfo(
            hostname: field(names.nodename), kernel: field(names.release), architecture: field(names.machine),
            cpus: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), cpuModel: model, memoryMB: memKB / 1024,
            cgroup: cgroup.versionName, loadAverage: loadAverageNow())
    }

    var summary: String {
        "\(hostname), Linux \(kernel), \(cpus) × \(cpuModel), \(memoryMB) MB, cgroup \(cgroup), load \(loadAverage.map { String(format: "%.2f", $0) }.joined(separator: " "))"
    }
}
