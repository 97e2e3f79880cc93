import CorralStore
import Foundation
import PostgresNIO

extension PostgresHistoryStore {
    /// `base` with the query's filters (bound, never spliced), newest first, and its page.
    static func filtered(_ base: String, _ q: ValidatedHistoryQuery, page: Bool) -> PostgresQuery {
        var sql = base
        var bindings = PostgresBindings()
        var conditions: [String] = []
        if let language = q.language { bindings.append(language); conditions.append("language = $\(bindings.count)") }
        if let status = q.status { bindings.append(status); conditions.append("status = $\(bindings.count)") }
        if let since = q.sinceMs { bindings.append(since); conditions.append("created_at >= $\(bindings.count)") }
        if let until = q.untilMs { bindings.append(until); conditions.append("created_at < $\(bindings.count)") }
        if let caller = q.caller { bindings.append(caller); conditions.append("caller = $\(bindings.count)") }
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        if page {
            bindings.append(Int64(q.limit))
            sql += " ORDER BY created_at DESC, seq DESC LIMIT $\(bindings.count)"
            bindings.append(Int64(q.offset))
            sql += " OFFSET $\(bindings.count)"
        }
        return PostgresQuery(unsafeSQL: sql, binds: bindings)
    }

    static func record(_ row: PostgresRow) throws -> ExecutionRecord {
        let r = row.makeRandomAccess()
        return ExecutionRecord(
            executionId: try r["execution_id"].decode(String.self),
            createdAt: HistoryTimestamp.date(milliseconds: try r["created_at"].decode(Int64.self)),
            language: try r["language"].decode(String.self), status: try r["status"].decode(String.self),
            exitCode: try r["exit_code"].decode(Int64?.self).flatMap { Int(exactly: $0) },
            executionTimeMs: try r["execution_time_ms"].decode(Double.self), cpuTimeMs: try r["cpu_time_ms"].decode(Double.self),
            memoryUsedMb: try r["memory_used_mb"].decode(Double.self), cached: try r["cached"].decode(Bool.self),
            codeHash: try r["code_hash"].decode(String.self), stdout: try r["stdout"].decode(String.self),
            stderr: try r["stderr"].decode(String.self), errorMessage: try r["error_message"].decode(String?.self),
            caller: try r["caller"].decode(String?.self), requestId: try r["request_id"].decode(String?.self))
    }

    /// Runs `body` with the store's deadline; any failure becomes a `HistoryStoreError` naming the
    /// server and the operation (a deadline passed or a refused connection is `unavailable`).
    func timed<T: Sendable>(_ operation: String, _ body: @escaping @Sendable () async throws -> T) async throws(HistoryStoreError) -> T {
        let deadline = operationTimeout
        let timeout = HistoryStoreError(code: .unavailable, operation: operation, path: redactedURL,
                                        reason: "PostgreSQL did not answer within \(deadline) s", hint: "check that the server runs and accepts connections")
        do {
            return try await Self.racing(body, deadline: deadline, timeout: timeout)
        } catch let error as HistoryStoreError {
            throw error
        } catch let error as PSQLError {
            let reason = error.serverInfo?[.message] ?? "\(error.code)"
            let code: HistoryStoreError.Code = error.serverInfo == nil ? .unavailable : .storageFailed
            throw HistoryStoreError(code: code, operation: operation, path: redactedURL, reason: "PostgreSQL: \(reason)",
                                    hint: code == .unavailable ? "check that the server runs and accepts connections" : nil)
        } catch {
            throw HistoryStoreError(code: .unavailable, operation: operation, path: redactedURL, reason: "\(error)",
                                    hint: "check that the server runs and accepts connections")
        }
    }

    /// `body`'s result, or `timeout` once `deadline` seconds have passed, whichever comes first.
    /// The deadline holds even when `body` ignores cancellation: it runs in a task of its own that
    /// is cancelled and left to finish (a task group would wait for it — a query stuck on a lost
    /// connection kept a history write pending forever).
    static func racing<T: Sendable>(_ body: @escaping @Sendable () async throws -> T, deadline: Double,
                                    timeout: HistoryStoreError) async throws -> T {
        let race = Race<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                race.start(continuation, body: body, deadline: deadline, timeout: timeout)
            }
        } onCancel: {
            race.finish(.failure(CancellationError()))
        }
    }
}

/// One `racing` call: its continuation is resumed once, by the body, the deadline or a cancel.
private final class Race<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, any Error>?
    private var work: Task<Void, Never>?
    private var timer: Task<Void, Never>?
    private var finished = false

    func start(_ continuation: CheckedContinuation<T, any Error>, body: @escaping @Sendable () async throws -> T,
               deadline: Double, timeout: HistoryStoreError) {
        let alreadyFinished = lock.withLock { () -> Bool in
            if finished { return true }
            self.continuation = continuation
            return false
        }
        if alreadyFinished { continuation.resume(throwing: CancellationError()); return }
        let task = Task { [self] in
            do { finish(.success(try await body())) } catch { finish(.failure(error)) }
        }
        let clock = Task { [self] in
            guard (try? await Task.sleep(nanoseconds: UInt64(max(0, min(deadline, 86_400)) * 1e9))) != nil else { return }
            finish(.failure(timeout))
        }
        let late = lock.withLock { () -> Bool in
            work = task
            timer = clock
            return finished
        }
        // Finished already (the body answered at once): neither is needed any more.
        if late { task.cancel(); clock.cancel() }
    }

    /// Resumes the caller (the first call only), cancels the body if it still runs and the clock.
    func finish(_ result: Result<T, any Error>) {
        let (waiting, task, clock) = lock.withLock { () -> (CheckedContinuation<T, any Error>?, Task<Void, Never>?, Task<Void, Never>?) in
            finished = true
            defer { continuation = nil }
            return (continuation, work, timer)
        }
        waiting?.resume(with: result)
        task?.cancel()
        clock?.cancel()
    }
}
