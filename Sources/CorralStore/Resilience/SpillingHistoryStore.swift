import Foundation
import GRDB
import Logging
import Synchronization

/// A shared history store (PostgreSQL) that may go away, made safe to record into: while it fails,
/// records are appended to a local SQLite file (bounded) and written to it in order once it is back,
/// so nothing acknowledged is lost, not even across a restart of this instance (the file is read
/// again at start). A circuit breaker (seed 000's) keeps a dead server from costing every record a
/// timeout. Reads go to the shared store; while it is unreachable they fail saying so.
public final class SpillingHistoryStore: HistoryStore {
    public let primary: any HistoryStore
    public let breaker: CircuitBreaker
    public let spillPath: String
    /// Records the spill file holds at most; past it the oldest are dropped (counted and logged).
    public let capacity: Int
    /// Seed 000's retry settings: the flusher's waits after a failed attempt grow from the base
    /// delay to the maximum (with jitter), and start again at the base after a success.
    public let retry: RetryPolicy
    let queue: DatabaseQueue
    let logger: Logger
    let wake: AsyncStream<Void>.Continuation
    let wakes: AsyncStream<Void>

    struct Counters {
        var spilled = 0
        var dropped = 0
        var lastFailure: String?
        var reachable = true
    }
    let counters = Mutex(Counters())

    public init(primary: any HistoryStore, spillPath: String, breaker: CircuitBreaker, retry: RetryPolicy = RetryPolicy(),
                capacity: Int = 1_000_000, logger: Logger) throws(HistoryStoreError) {
        self.primary = primary
        self.retry = retry
        self.breaker = breaker
        self.spillPath = spillPath
        self.capacity = max(1, capacity)
        self.logger = logger
        (wakes, wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        try SQLiteHistoryStore.prepareDirectory(of: spillPath)
        SQLiteHistoryStore.createPrivateFile(at: spillPath)
        do {
            queue = try DatabaseQueue(path: spillPath)
            let left = try queue.write { db -> Int in
                try db.execute(sql: "CREATE TABLE IF NOT EXISTS spill (seq INTEGER PRIMARY KEY, document BLOB NOT NULL)")
                return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM spill") ?? 0
            }
            counters.withLock { $0.spilled = left }
            if left > 0 { logger.warning("history records from before a restart wait in the spill file", metadata: ["records": .stringConvertible(left), "path": .string(spillPath)]) }
        } catch {
            throw SQLiteHistoryStore.typedStoreError(error, operation: "open spill file", path: spillPath)
        }
    }

    /// Records waiting in the spill file for the shared store.
    public var spilledCount: Int { counters.withLock { $0.spilled } }
    /// Records dropped because the spill file was full.
    public var droppedCount: Int { counters.withLock { $0.dropped } }
    /// Whether the last call to the shared store succeeded.
    public var isReachable: Bool { counters.withLock { $0.reachable } }

    public func record(_ record: ExecutionRecord) async throws {
        // While anything waits in the spill file, new records queue behind it: the order holds.
        if spilledCount == 0, breaker.allow() {
            do {
                try await primary.record(record)
                succeeded()
                return
            } catch {
                failed(error)
            }
        }
        try spill(record)
        wake.yield()
    }

    func spill(_ record: ExecutionRecord) throws(HistoryStoreError) {
        let document: Data
        do { document = try Self.encoder.encode(record) } catch {
            throw HistoryStoreError(code: .storageFailed, operation: "spill", path: spillPath, reason: "the record cannot be encoded: \(error)")
        }
        let capacity = self.capacity
        let dropped: Int
        do {
            // The count changes inside the file's transaction (the queue runs one at a time), so
            // it always equals the rows the file holds, whatever a flush does meanwhile.
            dropped = try queue.write { [self] db -> Int in
                try db.execute(sql: "INSERT INTO spill (document) VALUES (?)", arguments: [document])
                let held = counters.withLock { $0.spilled } + 1
                let excess = max(0, held - capacity)
                if excess > 0 {
                    try db.execute(sql: "DELETE FROM spill WHERE seq IN (SELECT seq FROM spill ORDER BY seq LIMIT ?)", arguments: [excess])
                }
                counters.withLock { c in c.spilled = held - excess; c.dropped += excess }
                return excess
            }
        } catch {
            throw SQLiteHistoryStore.typedStoreError(error, operation: "spill", path: spillPath)
        }
        if dropped > 0 {
            logger.error("history spill file full: oldest records dropped", metadata: ["dropped": .stringConvertible(dropped), "capacity": .stringConvertible(capacity)])
        }
    }

    /// Writes what the spill file holds to the shared store, oldest first, whenever the breaker lets
    /// calls through; until cancelled.
    public func run() async {
        var failures = 0
        while !Task.isCancelled {
            if spilledCount > 0, breaker.state != .open {
                if await flushBatch() {
                    failures = 0
                    continue
                }
                // The shared store failed: wait as seed 000's retry settings say (no wake-up cuts it short).
                let wait = retry.delay(attempt: failures)
                failures += 1
                try? await Task.sleep(nanoseconds: UInt64(wait * 1e9))
                continue
            }
            // Nothing to flush, or the breaker is open: a new spill or half a second, whichever first.
            await withTaskGroup(of: Void.self) { group in
                group.addTask { [wakes] in for await _ in wakes { return } }
                group.addTask { try? await Task.sleep(nanoseconds: 500_000_000) }
                await group.next()
                group.cancelAll()
            }
        }
    }

    /// Writes up to 200 spilled records in order; false when the shared store failed (try later).
    public func flushBatch() async -> Bool {
        let rows: [(Int64, Data)]
        do {
            let queue = self.queue
            rows = try await SQLiteHistoryStore.workers.run {
                try queue.read { db in
                    try Row.fetchAll(db, sql: "SELECT seq, document FROM spill ORDER BY seq LIMIT 200").map { ($0["seq"], $0["document"]) }
                }
            }
        } catch {
            logger.error("history spill file unreadable", metadata: ["error": .string("\(error)")])
            return false
        }
        for (seq, document) in rows {
            guard let record = try? Self.decoder.decode(ExecutionRecord.self, from: document) else {
                logger.error("unreadable spilled history record skipped", metadata: ["seq": .stringConvertible(seq)])
                _ = try? await remove(seq)
                continue
            }
            // Each write asks the breaker, so a half-open breaker counts exactly the calls it let through.
            guard breaker.allow() else { return false }
            do {
                try await primary.record(record)
            } catch {
                failed(error)
                return false
            }
            succeeded()
            let left: Int
            do { left = try await remove(seq) } catch {
                // Written to the shared store and still in the file: written again later, an upsert of the same row.
                logger.error("history spill file not updated", metadata: ["error": .string("\(error)")])
                return false
            }
            if left == 0 { logger.info("history spill file flushed to the shared store") }
        }
        return true
    }

    /// Deletes a flushed row; returns the rows left (counted inside the transaction, as `spill` does).
    func remove(_ seq: Int64) async throws -> Int {
        // GRDB's synchronous API on a worker thread: see `BlockingWorkers`.
        try await SQLiteHistoryStore.workers.run { [self] in
            try queue.write { db -> Int in
                try db.execute(sql: "DELETE FROM spill WHERE seq = ?", arguments: [seq])
                let deleted = db.changesCount
                return counters.withLock { c -> Int in c.spilled = max(0, c.spilled - deleted); return c.spilled }
            }
        }
    }

    func succeeded() {
        breaker.recordSuccess()
        counters.withLock { $0.reachable = true }
    }

    func failed(_ error: any Error) {
        breaker.recordFailure()
        let first = counters.withLock { c -> Bool in
            defer { c.reachable = false; c.lastFailure = "\(error)" }
            return c.reachable
        }
        if first { logger.warning("shared history store failed; recording to the spill file", metadata: ["error": .string("\(error)")]) }
    }

    /// A read through the breaker: refused at once while it is open.
    func read<T: Sendable>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        guard breaker.allow() else {
            throw HistoryStoreError(code: .unavailable, operation: operation, reason: "the shared history store is unreachable (circuit breaker open); "
                                    + "\(spilledCount) records wait in the spill file and are written when it is back", hint: "retry later")
        }
        do {
            let value = try await body()
            succeeded()
            return value
        } catch let error as HistoryStoreError where error.code == .invalidQuery || error.code == .invalidRetention {
            breaker.giveBack()  // the caller's mistake, refused before any call: not the store's health
            throw error
        } catch {
            failed(error)
            throw error
        }
    }

    public func query(_ query: HistoryQuery) async throws -> HistoryPage { try await read("query") { try await primary.query(query) } }
    public func execution(id: String) async throws -> ExecutionRecord? { try await read("read execution") { try await primary.execution(id: id) } }
    public func prune(_ policy: RetentionPolicy) async throws -> Int { try await read("prune") { try await primary.prune(policy) } }
    public func summary() async throws -> HistorySummary { try await read("summary") { try await primary.summary() } }

    static let encoder: JSONEncoder = { let e = JSONEncoder(); e.dateEncodingStrategy = .millisecondsSince1970; return e }()
    static let decoder: JSONDecoder = { let d = JSONDecoder(); d.dateDecodingStrategy = .millisecondsSince1970; return d }()
}
