import CorralPostgres
import CorralStore
import CorralTestSupport
import Logging
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

/// The stores every behaviour must hold for: the embedded ones and PostgreSQL (a real server).
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, memory, postgres

    var testDescription: String { rawValue }

    /// A new, empty store; `cleanup` removes its files (or its database).
    func make() async throws -> (store: any HistoryStore, cleanup: @Sendable () -> Void) {
        switch self {
        case .memory:
            return (InMemoryHistoryStore(), {})
        case .sqlite:
            let directory = HistoryFixtures.temporaryDirectory()
            let store = try SQLiteHistoryStore(path: directory + "/history.sqlite")
            return (store, { try? FileManager.default.removeItem(atPath: directory) })
        case .postgres:
            let server = try SharedPostgres.server()
            let database = "h_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
            try server.psql("CREATE DATABASE \(database)")
            let store = try PostgresHistoryStore(url: server.postgresURL(database: String(database)), poolSize: 4, logger: Logger(label: "test-pg"))
            let running = Task { await store.run() }
            try await store.migrate()
            return (store, { running.cancel(); _ = try? server.psql("DROP DATABASE IF EXISTS \(database) WITH (FORCE)") })
        }
    }
}

/// One PostgreSQL server for the store tests of this process, started on first use and stopped
/// when the process exits (and killed with it if it dies: `setpriv --pdeathsig`).
enum SharedPostgres {
    nonisolated(unsafe) static var shared: LocalServer?
    static let lock = NSLock()

    static func server() throws -> LocalServer {
        try lock.withLock {
            if let shared { return shared }
            let server = try LocalServer.postgres()
            try server.start(timeout: 30)
            shared = server
            atexit { SharedPostgres.shared?.remove() }
            return server
        }
    }
}
