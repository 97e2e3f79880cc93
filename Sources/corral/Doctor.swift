import ArgumentParser
import CorralSandbox
import Foundation

extension Corral {
    /// `corral doctor`: what this host supports and what is degraded.
    struct Doctor: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check the kernel features the sandbox needs.")

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
            sandbox?.shutdown()
            if let startError { report.degraded.insert("the sandbox cannot start: \(startError)", at: 0) }
            if json {
                try printJSON(report)
            } else {
                StandardStream.output.line("kernel \(report.kernel), cgroup \(report.cgroupVersion) [\(report.cgroupControllers.joined(separator: ", "))]")
                for check in report.checks {
                    StandardStream.output.line("\(check.ok ? "ok  " : "FAIL") \(check.name): \(check.detail)")
                }
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
