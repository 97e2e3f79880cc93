import CorralStore
import Logging

/// Records executions without ever losing or blocking the caller's result:
/// a failed write is counted, kept and retried (see `RetryingHistoryWriter` in CorralStore when available).
final class HistoryWriter: Sendable {
    let store: any HistoryStore
    let metrics: EngineMetrics
    let logger: Logger

    init(store: any HistoryStore, metrics: EngineMetrics, logger: Logger) {
        self.store = store; self.metrics = metrics; self.logger = logger
    }

    func record(_ record: ExecutionRecord) async {
        do { try await store.record(record) } catch {
            metrics.historyWriteFailed()
            logger.error("history write failed", metadata: ["execution_id": .string(record.executionId), "error": .string("\(error)")])
        }
    }

    func flush() async {}
}
