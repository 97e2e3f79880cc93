import CorralStore
import Foundation
import Testing

@Suite("RetryingHistoryWriter")
struct RetryingHistoryWriterTests {
    typealias F = HistoryFixtures

    static let fast = RetryingHistoryWriter.Configuration(
        inlineTimeout: .milliseconds(100), initialBackoff: .milliseconds(5), maxBackoff: .milliseconds(40),
        flushTimeout: .seconds(2))

    @Test("writes that fail are counted, kept, and retried until the store takes them")
    func retriesUntilStored() async throws {
        let store = FlakyStore(failures: 3)
        let writer = RetryingHistoryWriter(store: store, configuration: Self.fast)
        try await withRunningWriter(writer) { () async throws in
            await writer.record(F.record("a"))
            #expect(writer.writeFailures >= 1)
            #expect(await eventually { writer.pending == 0 })
        }
        #expect(try await store.execution(id: "a") == F.record("a"))
        let stats = writer.statistics
        #expect(stats.writeFailures == 3)
        #expect(stats.written == 1)
        #expect(stats.dropped == 0)
        #expect(await store.attempts == 4)
    }

    @Test("record returns on the timeout even when the store hangs and ignores cancellation")
    func boundedWhileStoreHangs() async throws {
        let store = StuckStore()
        var configuration = Self.fast
        configuration.inlineTimeout = .milliseconds(50)
        let writer = RetryingHistoryWriter(store: store, configuration: configuration)
        try await withRunningWriter(writer) { () async throws in
            let waited = await ContinuousClock().measure { await writer.record(F.record("slow")) }
            #expect(try await store.execution(id: "slow") == nil)
            #expect(waited >= .milliseconds(50))
            #expect(waited < .seconds(4), "bounded by the 250 ms inline timeout, with slack for a loaded CI host")
            #expect(writer.statistics.timeouts == 1)
            #expect(writer.pending == 1)
            // The write was not abandoned: once the store answers, it lands once.
            store.release()
            #expect(await eventually { writer.pending == 0 })
        }
        #expect(try await store.execution(id: "slow") != nil)
        #expect(writer.statistics.written == 1)
        #expect(writer.writeFailures == 0)
    }

    @Test("flush at shutdown stores what run() could not, and reports what is left")
    func flushAtShutdown() async throws {
        let store = FlakyStore(failures: .max)
        let writer = RetryingHistoryWriter(store: store, configuration: Self.fast)
        try await withRunningWriter(writer) { () async throws in
            for id in ["x", "y", "z"] { await writer.record(F.record(id)) }
            #expect(writer.pending == 3)
        }
        // run() has returned; the store is still down: flush gives up and says so.
        #expect(await writer.flush() == 3)
        await store.heal()
        #expect(await writer.flush() == 0)
        #expect(try await store.query(HistoryQuery()).total == 3)
        #expect(writer.pending == 0)
    }

    @Test("a full retry queue drops the oldest record and counts it")
    func fullQueueDropsOldest() async throws {
        let store = FlakyStore(failures: .max)
        var configuration = Self.fast
        configuration.capacity = 2
        let writer = RetryingHistoryWriter(store: store, configuration: configuration)
        for id in ["first", "second", "third"] { await writer.record(F.record(id)) }
        #expect(writer.statistics.dropped == 1)
        #expect(writer.pending == 2)
        await store.heal()
        #expect(await writer.flush() == 0)
        let ids = try await store.query(HistoryQuery()).records.map(\.executionId)
        #expect(Set(ids) == ["second", "third"])
    }

    @Test("without run(), record writes inline and queues failures for run() to retry")
    func inlineWithoutRun() async throws {
        let store = FlakyStore(failures: 1)
        let writer = RetryingHistoryWriter(store: store, configuration: Self.fast)
        await writer.record(F.record("queued"))
        #expect(writer.pending == 1)
        await writer.record(F.record("direct"))
        #expect(try await store.execution(id: "direct") != nil)
        // run() picks up what was queued before it started.
        try await withRunningWriter(writer) { () async throws in
            #expect(await eventually { writer.pending == 0 })
        }
        #expect(try await store.execution(id: "queued") != nil)
        #expect(writer.statistics == RetryingHistoryWriter.Statistics(written: 2, pending: 0, writeFailures: 1))
    }

    @Test("through a real SQLite store, concurrent records all land and none wait on each other's failure")
    func sqliteConcurrent() async throws {
        let root = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try SQLiteHistoryStore(path: root + "/history.sqlite")
        let writer = RetryingHistoryWriter(store: store)
        try await withRunningWriter(writer) { () async throws in
            await withTaskGroup(of: Void.self) { group in
                for task in 0..<8 {
                    group.addTask { for i in 0..<50 { await writer.record(F.record("w\(task)-\(i)")) } }
                }
            }
        }
        #expect(writer.statistics == RetryingHistoryWriter.Statistics(written: 400))
        #expect(try await store.summary().total == 400)
    }

    @Test("record latency through the writer and run() (p50, p99) on this machine")
    func writerLatency() async throws {
        let root = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let writer = RetryingHistoryWriter(store: try SQLiteHistoryStore(path: root + "/history.sqlite"))
        var samples: [Duration] = []
        try await withRunningWriter(writer) {
            for i in 0..<1_000 {
                let record = F.record("l\(i)", stdout: String(repeating: "x", count: 512))
                samples.append(await ContinuousClock().measure { await writer.record(record) })
            }
        }
        samples.sort()
        print("RetryingHistoryWriter.record latency over \(samples.count) records: p50 \(samples[samples.count / 2]), p99 \(samples[samples.count * 99 / 100])")
        #expect(writer.statistics == RetryingHistoryWriter.Statistics(written: 1_000))
    }
}
