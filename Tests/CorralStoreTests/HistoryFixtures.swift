import CorralStore
import Foundation
import Testing

/// Records and stores for the history tests.
enum HistoryFixtures {
    /// A fixed, millisecond-aligned instant, so that records compare equal after a round trip.
    static let epoch = Date(timeIntervalSince1970: 1_750_000_000)

    static func record(_ id: String, at createdAt: Date = epoch, language: String = "python", status: String = "success",
                       cached: Bool = false, timeMs: Double = 10, stdout: String = "out", caller: String? = "cli") -> ExecutionRecord {
        ExecutionRecord(executionId: id, createdAt: createdAt, language: language, status: status,
                        exitCode: status == "success" ? 0 : 1, executionTimeMs: timeMs, cpuTimeMs: timeMs / 2,
                        memoryUsedMb: 12.5, cached: cached, codeHash: String(repeating: "ab", count: 32),
                        stdout: stdout, stderr: "", errorMessage: status == "success" ? nil : "failed",
                        caller: caller, requestId: "req-\(id)")
    }

    /// A fresh directory under the system's temporary directory.
    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "corral-history-test-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// The two stores every behaviour must hold for.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, memory

    var testDescription: String { rawValue }

    /// A new, empty store; `cleanup` removes its files.
    func make() throws -> (store: any HistoryStore, cleanup: @Sendable () -> Void) {
        switch self {
        case .memory:
            return (InMemoryHistoryStore(), {})
        case .sqlite:
            let directory = HistoryFixtures.temporaryDirectory()
            let store = try SQLiteHistoryStore(path: directory + "/history.sqlite")
            return (store, { try? FileManager.default.removeItem(atPath: directory) })
        }
    }
}
