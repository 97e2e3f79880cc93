import CorralPolicy
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
    /// Records every execution; a failed write is counted, kept and retried, never lost or blocking.
    public let historyWriter: RetryingHistoryWriter
    let policy: PolicyStage

    public init(configuration: EngineConfiguration, runtime: Runtime, history: any HistoryStore,
                cache: any ResultCache = MemoryResultCache(), validator: PolicyValidator? = nil,
                logger: Logger = Logger(label: "corral.engine")) {
        self.configuration = configuration
        self.runtime = runtime
        self.history = history
        self.cache = cache
        self.logger = logger
        admission = AdmissionQueue(workers: configuration.workers, capacity: configuration.queueCapacity)
        historyWriter = RetryingHistoryWriter(store: history, logger: logger)
        policy = PolicyStage(validator: validator ?? (try? PolicyValidator(sandbox: runtime.sandbox)))
    }

    /// The history writer's retry loop: run it as a long-lived service (`corral serve` does).
    public func runHistoryWriter() async { await historyWriter.run() }

    /// Runs one request to its result and records it. Throws only when the request is refused.
    public func execute(_ request: ExecuteRequest, context: ExecutionContext = ExecutionContext()) async throws(EngineError) -> ExecutionResponse {
        let prepared = try prepare(request)
        let started = Date()
        let executionID = UUID().uuidString.lowercased()
        var logger = self.logger
        logger[metadataKey: "execution_id"] = .string(executionID)
        if let id = context.requestID { logger[metadataKey: "request_id"] = .string(id) }

        // Strict mode validates before anything runs; warn mode validates alongside the run.
        var findings: [Finding]?
        async let warnReport: ValidationReport? = prepared.policyMode == .warn
            ? policy.validate(code: request.code, codeHash: prepared.codeHash, language: prepared.language.name, options: prepared.validation)
            : nil
        if prepared.policyMode == .strict,
           let report = await policy.validate(code: request.code, codeHash: prepared.codeHash, language: prepared.language.name, options: prepared.validation),
           case let .refuse(reason, refused) = Policy.decide(report, mode: .strict, threshold: prepared.validation.threshold) {
            let result = RunResult(status: .securityViolation, errorMessage: reason)
            await finish(executionID: executionID, started: started, prepared: prepared, result: result, context: context, logger: logger)
            return ExecutionResponse(executionID: executionID, result: result, securityFindings: refused)
        }

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
        if let report = await warnReport, !report.findings.isEmpty { findings = report.findings }
        await finish(executionID: executionID, started: started, prepared: prepared, result: result, context: context, logger: logger)
        return ExecutionResponse(executionID: executionID, result: result, securityFindings: findings)
    }

    /// The last steps of every execution, refused ones included: metrics, history, log.
    private func finish(executionID: String, started: Date, prepared: PreparedRequest, result: RunResult,
                        context: ExecutionContext, logger: Logger) async {
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

    /// Stops admitting and fails queued requests; then writes what history still holds
    /// (call after `runHistoryWriter()` has returned).
    public func shutdown() async {
        admission.close()
        let left = await historyWriter.flush()
        if left > 0 { logger.error("history rows could not be written at shutdown", metadata: ["rows": .stringConvertible(left)]) }
    }

    /// Static validation without running (seed 000 `validate_code`).
    public func validate(_ request: ValidateRequest) async throws(EngineError) -> ValidationReport {
        guard runtime.catalog.language(named: request.language) != nil else {
            throw EngineError(.unknownLanguage, "unknown language '\(request.language)'; available: \(runtime.catalog.names.joined(separator: ", "))")
        }
        guard request.code.utf8.count <= configuration.maxCodeBytes else {
            throw EngineError(.payloadTooLarge, "code is \(request.code.utf8.count) bytes; the limit is \(configuration.maxCodeBytes)")
        }
        var options = ValidationOptions(threshold: configuration.policyThreshold)
        if let name = request.profile {
            guard let profile = configuration.profiles[name] else {
                throw EngineError(.invalidRequest, "unknown profile '\(name)'; available: \(configuration.profiles.keys.sorted().joined(separator: ", "))")
            }
            options = profile.validationOptions
        }
        if let v = request.allowNetwork { options.allowNetwork = v }
        if let v = request.allowFilesystem { options.allowFilesystem = v }
        if let v = request.authorizedImports { options.authorizedImports = v }
        if let v = request.threshold {
            guard let severity = Severity(rawValue: v) else { throw EngineError(.invalidRequest, "threshold must be low, medium, high or critical") }
            options.threshold = severity
        }
        var hasher = SHA256()
        hasher.update(Array(request.code.utf8))
        guard let report = await policy.validate(code: request.code, codeHash: hasher.hexDigest(), language: request.language, options: options) else {
            throw EngineError(.internalError, "the validator is not available on this host")
        }
        return report
    }
}
