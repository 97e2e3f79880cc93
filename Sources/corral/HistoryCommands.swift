import ArgumentParser
import CorralEngine
import CorralStore
import Foundation

extension Corral {
    /// `corral history`: executions recorded by `corral serve` (or `corral run --data-dir`), through the engine.
    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "history", abstract: "List recorded executions (newest first).")

        @Option(name: .customLong("data-dir"), help: "The service's data directory.") var dataDirectory: String?
        @Option(help: "Only this language.") var language: String?
        @Option(help: "Only this status (success, error, timeout, ...).") var status: String?
        @Option(help: "Rows to show (1...1000).") var limit = 20
        @Option(help: "Rows to skip.") var offset = 0
        @Option(help: "Only executions at or after this time (ISO 8601, or Unix seconds).") var since: String?
        @Option(help: "Only executions before this time (ISO 8601, or Unix seconds).") var until: String?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let local = try LocalEngine.start(history: try HistoryLocation.open(dataDirectory, create: false))
            let request = HistoryRequest(language: language, status: status, since: since, until: until, limit: limit, offset: offset)
            let page = try await local.use { engine in
                do throws(EngineError) { return try await engine.history(request) } catch { throw CLIFailure(error) }
            }
            if json {
                struct Out: Encodable { var count: Int; var total: Int; var executions: [ExecutionRecord] }
                try printJSON(Out(count: page.records.count, total: page.total, executions: page.records))
                return
            }
            let formatter = ISO8601DateFormatter()
            for r in page.records {
                StandardStream.output.line("\(formatter.string(from: r.createdAt))  \(r.executionId)  \(r.language.padding(toLength: 10, withPad: " ", startingAt: 0)) \(r.status.padding(toLength: 14, withPad: " ", startingAt: 0)) exit \(r.exitCode.map(String.init) ?? "-")  \(String(format: "%.1f ms", r.executionTimeMs))\(r.cached ? "  cached" : "")")
            }
            StandardStream.output.line("\(page.records.count) of \(page.total) executions")
        }
    }

    /// `corral stats`: totals over the recorded history, through the engine.
    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "stats", abstract: "Totals over the recorded executions.")
        @Option(name: .customLong("data-dir"), help: "The service's data directory.") var dataDirectory: String?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let local = try LocalEngine.start(history: try HistoryLocation.open(dataDirectory, create: false))
            let summary = try await local.use { engine in
                do throws(EngineError) { return try await engine.historySummary() } catch { throw CLIFailure(error) }
            }
            if json {
                try printJSON(summary)
                return
            }
            StandardStream.output.line("executions: \(summary.total) (cached \(summary.cached)), average \(String(format: "%.1f", summary.averageExecutionTimeMs)) ms")
            for (status, n) in summary.byStatus.sorted(by: { $0.value > $1.value }) { StandardStream.output.line("  \(status): \(n)") }
            for (language, n) in summary.byLanguage.sorted(by: { $0.value > $1.value }) { StandardStream.output.line("  \(language): \(n)") }
        }
    }
}
