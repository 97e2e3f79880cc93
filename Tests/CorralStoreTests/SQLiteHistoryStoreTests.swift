@testable import CorralStore
import Foundation
import Testing

/// What only the file-backed store does: files, permissions, reopening, errors.
@Suite("SQLiteHistoryStore")
struct SQLiteHistoryStoreTests {
    typealias F = HistoryFixtures

    @Test("creates missing parent directories with mode 0700 and the file with mode 0600")
    func createsPrivateDirectories() throws {
        let root = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let path = root + "/a/b/history.sqlite"
        let store = try SQLiteHistoryStore(path: path)
        for directory in [root + "/a", root + "/a/b"] {
            let mode = try FileManager.default.attributesOfItem(atPath: directory)[.posixPermissions] as? Int
            #expect(mode == 0o700, "\(directory)")
        }
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        // WAL mode: the -wal file exists while the store is open.
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))
        withExtendedLifetime(store) {}
    }

    @Test("reopening the file keeps every row, and the schema is not re-created")
    func reopenKeepsRows() async throws {
        let root = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let path = root + "/history.sqlite"
        var records: [ExecutionRecord] = []
        do {
            let store = try SQLiteHistoryStore(path: path)
            for i in 0..<50 {
                records.append(F.record("k\(i)", at: F.epoch.addingTimeInterval(Double(i))))
                try await store.record(records.last!)
            }
        }
        let reopened = try SQLiteHistoryStore(path: path)
        let page = try await reopened.query(HistoryQuery(limit: 1000))
        #expect(page.total == 50)
        #expect(page.records == records.reversed())
        try await reopened.record(F.record("after", at: F.epoch.addingTimeInterval(100)))
        #expect(try await reopened.query(HistoryQuery()).total == 51)
    }

    @Test("a row is visible to an independent connection as soon as record returns")
    func acknowledgedRowsAreVisibleToAnotherConnection() async throws {
        let root = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let path = root + "/history.sqlite"
        let writer = try SQLiteHistoryStore(path: path)
        // A second DatabasePool on the same file, as another process would open it.
        let reader = try SQLiteHistoryStore(path: path)
        for i in 0..<100 {
            try await writer.record(F.record("v\(i)"))
            #expect(try await reader.execution(id: "v\(i)") != nil)
        }
        #expect(try await reader.query(HistoryQuery()).total == 100)
    }

    @Test("concurrent records from many tasks are all stored")
    func concurrentRecords() async throws {
        let root = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try SQLiteHistoryStore(path: root + "/history.sqlite")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<16 {
                group.addTask {
                    for i in 0..<25 { try await store.record(F.record("t\(task)-\(i)")) }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await store.summary().total == 400)
    }

    @Test("a data directory that is a file is reported with the path and --data-dir")
    func directoryIsAFile() throws {
        let root = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        _ = FileManager.default.createFile(atPath: root + "/file", contents: Data("x".utf8))
        let error = #expect(throws: HistoryStoreError.self) { try SQLiteHistoryStore(path: root + "/file/sub/history.sqlite") }
        #expect(error?.code == .unwritableDirectory)
        #expect(error?.path == root + "/file/sub/history.sqlite")
        #expect(error?.description.contains("--data-dir") == true)
        #expect(error?.description.contains(root + "/file") == true)
    }

    @Test("a file that is not a database is reported as such, with what to do")
    func notADatabase() throws {
        let root = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let path = root + "/history.sqlite"
        _ = FileManager.default.createFile(atPath: path, contents: Data(repeating: 0x5A, count: 8192))
        let error = #expect(throws: HistoryStoreError.self) { try SQLiteHistoryStore(path: path) }
        #expect(error?.code == .corrupt)
        #expect(error?.sqliteResultCode == 26)  // SQLITE_NOTADB
        #expect(error?.description.contains("move it aside") == true)
        #expect(error?.description.contains(path) == true)
    }

    @Test("prune deletes in batches larger than one transaction")
    func pruneInBatches() async throws {
        let root = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try SQLiteHistoryStore(path: root + "/history.sqlite")
        let count = SQLiteHistoryStore.pruneBatchSize * 2 + 10
        for i in 0..<count { try await store.record(F.record("p\(i)", at: F.epoch.addingTimeInterval(Double(i)))) }
        #expect(try await store.prune(RetentionPolicy(maxAgeDays: nil, maxRows: 5)) == count - 5)
        #expect(try await store.query(HistoryQuery()).records.map(\.executionId)
                == (count - 5..<count).reversed().map { "p\($0)" })
    }

    @Test("record latency (p50, p99) on this machine")
    func recordLatency() async throws {
        let root = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try SQLiteHistoryStore(path: root + "/history.sqlite")
        let clock = ContinuousClock()
        var samples: [Duration] = []
        for i in 0..<2_000 {
            let record = F.record("l\(i)", stdout: String(repeating: "x", count: 512))
            samples.append(try await clock.measure { try await store.record(record) })
        }
        samples.sort()
        let p50 = samples[samples.count / 2], p99 = samples[samples.count * 99 / 100]
        print("SQLiteHistoryStore.record latency over \(samples.count) inserts: p50 \(p50), p99 \(p99)")
        // A loose ceiling: catches an fsync per row or a lock wait, not noise.
        #expect(p50 < .milliseconds(5))
    }
}
