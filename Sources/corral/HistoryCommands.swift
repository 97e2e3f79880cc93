import ArgumentParser
import CorralStore
import Foundation

extension Corral {
    /// `corral history`: executions recorded by `corral serve`, from the same store.
    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List recorded executions (newest first).")

        @Option(name: .customLong("data-dir"), help: "The service's data directory.") var dataDirectory: String?
        @Option(help: "Only this language.") var language: String?
        @Option(help: "Only this status (success, error, timeout, ...).") var status: String?
        @Option(help: "Rows to show (1...1000).") var limit = 20
        @Option(help: "Rows to skip.") var offset = 0
        @Option(help: "Only executions at or after this ISO 8601 time.") var since: String?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let store = try openHistory(dataDirectory)
            var query = HistoryQuery(language: language, status: status, limit: limit, offset: offset)
            guard (1...HistoryQuery.maxLimit).contains(limit), offset >= 0 else {
                throw CLIFailure.usage("--limit must be 1...\(HistoryQuery.maxLimit) and --offset 0 or more")
            }
            if let since {
                guard let d = ISO8601DateFormatter().date(from: since) else { throw CLIFailure.usage("--since must be ISO 8601, e.g. 2026-11-22T10:00:00Z") }
                query.since = d
            }
            let page = try await store.query(query)
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

    /// `corral stats`: totals over the recorded history.
    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Totals over the recorded executions.")
        @Option(name: .customLong("data-dir"), help: "The service's data directory.") var dataDirectory: String?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let summary = try await openHistory(dataDirectory).summary()
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

/// Opens the service's history database read-side, with a clear error when there is none.
func openHistory(_ dataDirectory: String?) throws -> any HistoryStore {
    let dir = dataDirectory ?? ProcessInfo.processInfo.environment["CORRAL_DATA_DIR"] ?? ServeSettings.defaultDataDirectory
    let path = dir + "/history.sqlite"
    guard FileManager.default.fileExists(atPath: path) else {
        throw CLIFailure.usage("no history at \(path): start 'corral serve' first or give --data-dir")
    }
    do { return try SQLiteHistoryStore(path: path) } catch { throw CLIFailure.corralFailed("cannot open \(path): \(error)") }
}
