import ArgumentParser
import CorralSandbox
import Foundation

extension Corral {
    /// `corral doctor`: what this host supports and what is degraded.
    struct Doctor: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "doctor", abstract: "Check the kernel features the sandbox needs.")

        @Flag(help: "Print the report as JSON.")
        var json = false

        func run() async throws {
            var configuration = Sandbox.Configuration()
            configuration.poolSize = 0
            let sandbox: Sandbox?
            var startError: String?
            do { sandbox = try Sandbox(configuration: configuration) } catch {
                sandbox = nil
                startError = error.description
            }
            var report = await HostReport.probe(sandbox: sandbox)
            if let sandbox, report.jailWorks { report.checks += await Self.warmJailChecks(sandbox: sandbox) }
            let migration = CgroupMigrationCost.measure(in: sandbox?.cgroups ?? CgroupHierarchy.detect())
            sandbox?.shutdown()
            if let startError { report.degraded.insert("the sandbox cannot start: \(startError)", at: 0) }
            if json {
                try printJSON(DoctorOutput(report: report, cgroupMigration: migration))
            } else {
                StandardStream.output.line("kernel \(report.kernel), cgroup \(report.cgroupVersion) [\(report.cgroupControllers.joined(separator: ", "))]")
                for check in report.checks {
                    StandardStream.output.line("\(check.ok ? "ok  " : "FAIL") \(check.name): \(check.detail)")
                }
                if let ms = migration.idleMoveMs {
                    StandardStream.output.line(String(format: "%@ cgroup.move: %.2f ms to move a process into a cgroup on an idle host%@", migration.recommendation == nil ? "ok  " : "slow",
                                                      ms, migration.favordynmodsMounts.isEmpty ? "" : " (favordynmods on \(migration.favordynmodsMounts.joined(separator: ", ")))"))
                } else if let note = migration.note {
                    StandardStream.output.line("ok   cgroup.move: \(note)")
                }
                if let advice = migration.recommendation { StandardStream.output.line("recommended: \(advice)") }
                if report.degraded.isEmpty {
                    StandardStream.output.line("nothing degraded: full isolation and limits")
                } else {
                    for line in report.degraded { StandardStream.output.line("degraded: \(line)") }
                }
            }
            if !report.jailWorks { throw ExitCode(1) }
        }
    }
}

/// `corral doctor --json`: the host report with the cost of a cgroup move beside it.
struct DoctorOutput: Encodable {
    var report: HostReport
    var cgroupMigration: CgroupMigrationCost

    func encode(to encoder: any Encoder) throws {
        try report.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(cgroupMigration, forKey: .cgroupMigration)
    }

    enum Keys: String, CodingKey { case cgroupMigration = "cgroup_migration" }
}
