import CorralRuntimes
import CorralSandbox
import CorralStore
import Foundation
import Logging

/// The one API every front end calls. Pipeline of an execution:
/// validate → policy → cache → admission → compile/run → record history → metrics.
public final class Engine: Sendable {
    public let configuration: EngineConfiguration
    public let runtime: Runtime
    public let history: any HistoryStore
    public let cache: any ResultCache
    public let admission: AdmissionQueue
    public let metrics = EngineMetrics()
    let logger: Logger
    let historyWriter: HistoryWriter

    public init(configuration: EngineConfiguration, runtime: Runtime, history: any HistoryStore,
                cache: any ResultCache = MemoryResultCache(), logger: Logger = Logger(label: "corral.engine")) {
        self.configuration = configuration
        self.runtime = runtime
        self.history = history
        self.cache = cache
        self.logger = logger
        admission = AdmissionQueue(workers: configuration.workers, capacity: configuration.queueCapacity)
        historyWriter = HistoryWriter(store: history, metrics: metrics, logger: logger)
    }

    /// Runs one request to its result and records it. Throws only when the request is refused.
    public func execute(_ request: ExecuteRequest, context: ExecutionContext = ExecutionContext()) async throws(EngineError) -> ExecutionResponse {
        let prepared = try prepare(request)
        let started = Date()
        let executionID = UUID().uuidString.lowercased()
        var logger = self.logger
        logger[metadataKey: "execution_id"] = .string(executionID)
        if let id = context.requestID { logger[metadataKey: "request_id"] = .string(id) }

        var result: RunResult
        let cacheKey = request.useCache == false || !configuration.cacheEnabled ? nil : await resultKey(prepared)
        if let cacheKey, var hit = await cache.get(cacheKey) {
            metrics.cacheHit()
            hit.cached = true
            result = hit
        } else {
            if cacheKey != nil { metrics.cacheMiss() }
            do {
                try await admission.acquire(request.priority ?? .medium, retryAfterSeconds: self.retryAfterEstimate())
            } catch {
                if error.kind == .queueFull { metrics.rejectedByAdmission() }
                throw error
            }
            result = await runtime.run(prepared.run)
            admission.release()
            result.cached = false
            if let cacheKey, Self.isCacheable(result) {
                await cache.set(cacheKey, result, ttlSeconds: configuration.cacheTTLSeconds)
            }
        }
        let wallMs = Date().timeIntervalSince(started) * 1000
        metrics.recordExecution(language: prepared.language.name, status: result.status.rawValue, durationMs: wallMs)
        await historyWriter.record(ExecutionRecord(
            executionId: executionID, createdAt: started, language: prepared.language.name, status: result.status.rawValue,
            exitCode: result.exitCode, executionTimeMs: result.executionTimeMs, cpuTimeMs: result.cpuTimeMs,
            memoryUsedMb: result.memoryUsedMb, cached: result.cached ?? false, codeHash: prepared.codeHash,
            stdout: result.stdout, stderr: result.stderr, errorMessage: result.errorMessage,
            caller: context.caller, requestId: context.requestID))
        logger.info("executed", metadata: [
            "language": .string(prepared.language.name), "status": .string(result.status.rawValue),
            "cached": .stringConvertible(result.cached ?? false), "wall_ms": .stringConvertible(Int(wallMs)),
        ])
        return ExecutionResponse(executionID: executionID, result: result)
    }

    /// Many executions at once; each element is its result or the reason it was refused, in order.
    public func executeBatch(_ requests: [ExecuteRequest], context: ExecutionContext = ExecutionContext()) async -> [Result<ExecutionResponse, EngineError>] {
        await withTaskGroup(of: (Int, Result<ExecutionResponse, EngineError>).self) { group in
            for (i, request) in requests.enumerated() {
                group.addTask {
                    do throws(EngineError) { return (i, .success(try await self.execute(request, context: context))) } catch { return (i, .failure(error)) }
                }
            }
            var results = [Result<ExecutionResponse, EngineError>?](repeating: nil, count: requests.count)
            for await (i, r) in group { results[i] = r }
            return results.map { $0! }
        }
    }

    /// Only results that depend on the program alone are worth replaying.
    static func isCacheable(_ r: RunResult) -> Bool {
        switch r.status {
        case .success, .error, .compileError: true
        default: false
        }
    }

    /// Seconds until a queued request would likely start.
    func retryAfterEstimate() -> Int {
        let snap = metrics.snapshot()
        let queued = Double(admission.snapshot.queued + 1)
        let perRun = max(snap.averageMs, 100) / 1000
        return max(1, Int((queued * perRun / Double(admission.workers)).rounded(.up)))
    }

    /// Stops admitting, fails queued requests, waits for history to be written.
    public func shutdown() async {
        admission.close()
        await historyWriter.flush()
    }
}
