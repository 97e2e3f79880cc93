import CorralStore
import Foundation
import Testing

/// What every `HistoryStore` must do, checked on SQLite and in memory alike.
@Suite("HistoryStore contract")
struct HistoryStoreContractTests {
    typealias F = HistoryFixtures

    /// Ten records, one second apart (r0 oldest), alternating python/bash and
    /// success/error, every third cached.
    static func seed(_ store: any HistoryStore) async throws {
        for i in 0..<10 {
            try await store.record(F.record("r\(i)", at: F.epoch.addingTimeInterval(Double(i)),
                                            language: i.isMultiple(of: 2) ? "python" : "bash",
                                            status: i < 7 ? "success" : "error", cached: i.isMultiple(of: 3),
                                            timeMs: Double(i + 1)))
        }
    }

    @Test("a recorded execution reads back equal, by id and in a page", arguments: StoreKind.allCases)
    func roundTrip(_ kind: StoreKind) async throws {
        let (store, cleanup) = try await kind.make()
        defer { cleanup() }
        let record = F.record("one", stdout: "héllo ✓", caller: nil)
        try await store.record(record)
        #expect(try await store.execution(id: "one") == record)
        #expect(try await store.execution(id: "missing") == nil)
        #expect(try await store.query(HistoryQuery()) == HistoryPage(records: [record], total: 1))
    }

    @Test("timestamps are kept to the millisecond", arguments: StoreKind.allCases)
    func millisecondTimestamps(_ kind: StoreKind) async throws {
        let (store, cleanup) = try await kind.make()
        defer { cleanup() }
        try await store.record(F.record("t", at: F.epoch.addingTimeInterval(0.123_456_7)))
        let stored = try #require(try await store.execution(id: "t")).createdAt
        #expect(abs(stored.timeIntervalSince(F.epoch) - 0.123) < 1e-6)
    }

    @Test("pages are newest first; equal times keep the last recorded first", arguments: StoreKind.allCases)
    func newestFirst(_ kind: StoreKind) async throws {
        let (store, cleanup) = try await kind.make()
        defer { cleanup() }
        try await Self.seed(store)
        // Recorded last but created first: order follows creation time.
        try await store.record(F.record("late-old", at: F.epoch.addingTimeInterval(-100)))
        try await store.record(F.record("tie-a", at: F.epoch.addingTimeInterval(50)))
        try await store.record(F.record("tie-b", at: F.epoch.addingTimeInterval(50)))
        let ids = try await store.query(HistoryQuery()).records.map(\.executionId)
        #expect(ids == ["tie-b", "tie-a"] + (0..<10).reversed().map { "r\($0)" } + ["late-old"])
    }

    @Test("filters by language, status and time range, alone and combined", arguments: StoreKind.allCases)
    func filters(_ kind: StoreKind) async throws {
        let (store, cleanup) = try await kind.make()
        defer { cleanup() }
        try await Self.seed(store)
        func ids(_ query: HistoryQuery) async throws -> [String] {
            let page = try await store.query(query)
            #expect(page.total == page.records.count)
            return page.records.map(\.executionId)
        }
        #expect(try await ids(HistoryQuery(language: "python")) == ["r8", "r6", "r4", "r2", "r0"])
        #expect(try await ids(HistoryQuery(status: "error")) == ["r9", "r8", "r7"])
        #expect(try await ids(HistoryQuery(language: "bash", status: "error")) == ["r9", "r7"])
        #expect(try await ids(HistoryQuery(language: "cobol")) == [])
        // since is inclusive, until exclusive.
        let range = HistoryQuery(since: F.epoch.addingTimeInterval(3), until: F.epoch.addingTimeInterval(6))
        #expect(try await ids(range) == ["r5", "r4", "r3"])
        #expect(try await ids(HistoryQuery(since: F.epoch.addingTimeInterval(8))) == ["r9", "r8"])
        #expect(try await ids(HistoryQuery(until: F.epoch.addingTimeInterval(1))) == ["r0"])
        #expect(try await ids(HistoryQuery(language: "python", since: F.epoch.addingTimeInterval(3),
                                           until: F.epoch.addingTimeInterval(6))) == ["r4"])
        let empty = HistoryQuery(since: F.epoch.addingTimeInterval(4), until: F.epoch.addingTimeInterval(4))
        #expect(try await ids(empty) == [])
    }

    @Test("limit and offset page through the matches; total counts them all", arguments: StoreKind.allCases)
    func pagination(_ kind: StoreKind) async throws {
        let (store, cleanup) = try await kind.make()
        defer { cleanup() }
        try await Self.seed(store)
        var seen: [String] = []
        for offset in stride(from: 0, to: 12, by: 4) {
            let page = try await store.query(HistoryQuery(limit: 4, offset: offset))
            #expect(page.total == 10)
            seen += page.records.map(\.executionId)
        }
        #expect(seen == (0..<10).reversed().map { "r\($0)" })
        let filtered = try await store.query(HistoryQuery(language: "python", limit: 2, offset: 1))
        #expect(filtered.records.map(\.executionId) == ["r6", "r4"])
        #expect(filtered.total == 5)
        let beyond = try await store.query(HistoryQuery(limit: 5, offset: 50))
        #expect(beyond == HistoryPage(records: [], total: 10))
        let countOnly = try await store.query(HistoryQuery(status: "success", limit: 0))
        #expect(countOnly == HistoryPage(records: [], total: 7))
    }

    @Test("the default page is 100 rows and a larger limit is clamped to 1000", arguments: StoreKind.allCases)
    func limitClamping(_ kind: StoreKind) async throws {
        let (store, cleanup) = try await kind.make()
        defer { cleanup() }
        for i in 0..<1_005 {
            try await store.record(F.record(String(format: "c%04d", i), at: F.epoch.addingTimeInterval(Double(i))))
        }
        let byDefault = try await store.query(HistoryQuery())
        #expect(byDefault.records.count == 100)
        #expect(byDefault.total == 1_005)
        let clamped = try await store.query(HistoryQuery(limit: 5_000))
        #expect(clamped.records.count == HistoryQuery.maxLimit)
        #expect(clamped.records.first?.executionId == "c1004")
        #expect(clamped.records.last?.executionId == "c0005")
    }

    @Test("a negative limit or offset, or since after until, is refused with a clear error", arguments: StoreKind.allCases)
    func invalidQueries(_ kind: StoreKind) async throws {
        let (store, cleanup) = try await kind.make()
        defer { cleanup() }
        let bad = [HistoryQuery(limit: -1), HistoryQuery(offset: -5),
                   HistoryQuery(since: F.epoch.addingTimeInterval(1), until: F.epoch)]
        for query in bad {
            let error = await #expect(throws: HistoryStoreError.self) { try await store.query(query) }
            #expect(error?.code == .invalidQuery)
        }
        let error = await #expect(throws: HistoryStoreError.self) { try await store.query(HistoryQuery(limit: -1)) }
        #expect(error?.description.contains("limit must be at least 0, got -1") == true)
    }

    @Test("recording an id again replaces the row and keeps its place", arguments: StoreKind.allCases)
    func reRecordReplaces(_ kind: StoreKind) async throws {
        let (store, cleanup) = try await kind.make()
        defer { cleanup() }
        try await Self.seed(store)
        var again = F.record("r3", at: F.epoch.addingTimeInterval(3), status: "timeout")
        again.stdout = "second"
        try await store.record(again)
        #expect(try await store.execution(id: "r3") == again)
        let page = try await store.query(HistoryQuery())
        #expect(page.total == 10)
        #expect(page.records.map(\.executionId) == (0..<10).reversed().map { "r\($0)" })
    }

    @Test("retention deletes rows older than maxAgeDays", arguments: StoreKind.allCases)
    func retentionByAge(_ kind: StoreKind) async throws {
        let (store, cleanup) = try await kind.make()
        defer { cleanup() }
        let now = Date()
        for (id, days) in [("d40", 40.0), ("d31", 31.0), ("d29", 29.0), ("d1", 1.0), ("now", 0.0)] {
            try await store.record(F.record(id, at: now.addingTimeInterval(-days * 86_400)))
        }
        #expect(try await store.prune(RetentionPolicy(maxAgeDays: 30, maxRows: nil)) == 2)
        #expect(try await store.query(HistoryQuery()).records.map(\.executionId) == ["now", "d1", "d29"])
        #expect(try await store.prune(RetentionPolicy(maxAgeDays: 30, maxRows: nil)) == 0)
        #expect(try await store.prune(RetentionPolicy(maxAgeDays: nil, maxRows: nil)) == 0)
        #expect(try await store.query(HistoryQuery()).total == 3)
    }

    @Test("retention keeps only the newest maxRows rows", arguments: StoreKind.allCases)
    func retentionByRows(_ kind: StoreKind) async throws {
        let (store, cleanup) = try await kind.make()
        defer { cleanup() }
        try await Self.seed(store)
        #expect(try await store.prune(RetentionPolicy(maxAgeDays: nil, maxRows: 4)) == 6)
        #expect(try await store.query(HistoryQuery()).records.map(\.executionId) == ["r9", "r8", "r7", "r6"])
        #expect(try await store.prune(RetentionPolicy(maxAgeDays: nil, maxRows: 4)) == 0)
        #expect(try await store.prune(RetentionPolicy(maxAgeDays: nil, maxRows: 0)) == 4)
        #expect(try await store.query(HistoryQuery()).total == 0)
    }

    @Test("age and row limits together: the stricter one wins", arguments: StoreKind.allCases)
    func retentionCombined(_ kind: StoreKind) async throws {
        let (store, cleanup) = try await kind.make()
        defer { cleanup() }
        let now = Date()
        for i in 0..<6 { try await store.record(F.record("new\(i)", at: now.addingTimeInterval(Double(-i)))) }
        for i in 0..<3 { try await store.record(F.record("old\(i)", at: now.addingTimeInterval(-40 * 86_400 - Double(i)))) }
        #expect(try await store.prune(RetentionPolicy(maxAgeDays: 30, maxRows: 4)) == 5)
        #expect(try await store.query(HistoryQuery()).records.map(\.executionId) == ["new0", "new1", "new2", "new3"])
        let error = await #expect(throws: HistoryStoreError.self) {
            try await store.prune(RetentionPolicy(maxAgeDays: -1, maxRows: nil))
        }
        #expect(error?.code == .invalidRetention)
        await #expect(throws: HistoryStoreError.self) { try await store.prune(RetentionPolicy(maxAgeDays: nil, maxRows: -1)) }
    }

    @Test("summary counts by status and language, cached rows, and the average time", arguments: StoreKind.allCases)
    func summary(_ kind: StoreKind) async throws {
        let (store, cleanup) = try await kind.make()
        defer { cleanup() }
        #expect(try await store.summary() == HistorySummary())
        try await Self.seed(store)
        let summary = try await store.summary()
        #expect(summary.total == 10)
        #expect(summary.byStatus == ["success": 7, "error": 3])
        #expect(summary.byLanguage == ["python": 5, "bash": 5])
        #expect(summary.cached == 4)  // r0, r3, r6, r9
        #expect(abs(summary.averageExecutionTimeMs - 5.5) < 1e-9)
    }
}
