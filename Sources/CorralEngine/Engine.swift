import CorralPolicy
import CorralRuntimes
import CorralSandbox
import CorralStore
import Foundation
import Logging

/// The one API every front end calls (HTTP, the CLI, later NATS and MCP). Pipeline of an execution:
/// resolve → policy → cache → admission → compile/run → record history → metrics.
public final class Engine: Sendable {
    /// The configuration the engine runs with; `profiles` holds every profile it loaded.
    public let configuration: EngineConfiguration
    public let runtime: Runtime
    public let history: any HistoryStore
    public let cache: any ResultCache
    public let admission: AdmissionQueue
    public let metrics = EngineMetrics()
    /// The fleet's servers (NATS, PostgreSQL, Redis) and how each is doing.
    public let connections = ConnectionRegistry()
    let logger: Logger
    /// Records every execution; a failed write is counted, kept and retried, never lost or blocking.
    public let historyWriter: RetryingHistoryWriter
    let policy: PolicyStage
    let resolver: RequestResolver
    /// Live sessions (long-lived jails with a workspace; see docs/sessions.md).
    public let sessions: SessionManager
    /// Tasks: steps run in a session, kept in the store (see docs/tasks.md).
    public let tasks: TaskManager

    /// An engine over `runtime`. Throws, naming the file and the reason, when the limit profiles
    /// or the validator's rules cannot load, or when the runtime's catalog is empty: an engine
    /// never runs with strict mode unable to validate. `validator` replaces the one built from
    /// `configuration.policyResourcesDirectory` (tests, embedders).
    public init(configuration: EngineConfiguration, runtime: Runtime, history: any HistoryStore,
                cache: any ResultCache = MemoryResultCache(), validator: PolicyValidator? = nil, taskStore: (any TaskStore)? = nil,
                logger: Logger = Logger(label: "corral.engine")) throws(EngineError) {
        guard !runtime.catalog.languages.isEmpty else {
            throw EngineError(.internalError, "cannot start: the runtime's language catalog is empty (did languages.json load?); "
                + "build the engine with Engine(configuration:sandbox:…) to be told why")
        }
        var resolved = configuration
        resolved.profiles = try EngineResources.profiles(configuration)
        if let validator {
            policy = PolicyStage(validator: validator)
        } else if configuration.loadsPolicyOnFirstUse, configuration.policyMode == .off {
            let sandbox = runtime.sandbox
            policy = PolicyStage { () throws(EngineError) -> PolicyValidator in
                try EngineResources.validator(sandbox: sandbox, configuration: configuration)
            }
        } else {
            policy = PolicyStage(validator: try EngineResources.validator(sandbox: runtime.sandbox, configuration: configuration))
        }
        self.configuration = resolved
        self.runtime = runtime
        self.history = history
        self.cache = cache
        self.logger = logger
        admission = AdmissionQueue(workers: configuration.workers, capacity: configuration.queueCapacity)
        historyWriter = RetryingHistoryWriter(store: history, logger: logger)
        resolver = RequestResolver(configuration: resolved, catalog: runtime.catalog)
        sessions = SessionManager(settings: configuration.sessions, runtime: runtime)
        // Tasks live beside the history when its store keeps them (SQLite does), else in memory.
        tasks = TaskManager(settings: configuration.tasks, store: taskStore ?? (history as? any TaskStore) ?? InMemoryTaskStore(), logger: logger)
        if let pools = runtime.warmPools {
            metrics.warmPools.withLock { $0 = { pools.snapshot() } }
        }
        tasks.setRunner { [weak self] task in await self?.runTask(task) }
    }

    /// An engine over `sandbox` with the catalog of `configuration.languageCatalogFile` (or the
    /// shipped one). Throws, naming the file and the reason, when the catalog, the profiles or the
    /// validator's rules cannot load.
    public convenience init(configuration: EngineConfiguration, sandbox: Sandbox, history: any HistoryStore,
                            cache: any ResultCache = MemoryResultCache(),
                            logger: Logger = Logger(label: "corral.engine")) throws(EngineError) {
        let catalog = try EngineResources.catalog(configuration)
        let compileCache = CompileCache(root: configuration.compileCacheDirectory ?? CompileCache.defaultRoot)
        try self.init(configuration: configuration,
                      runtime: Runtime(sandbox: sandbox, catalog: catalog, compileCache: compileCache, warmPools: configuration.warmPools),
                      history: history,
                      cache: cache, logger: logger)
    }

    /// The history writer's retry loop: run it as a long-lived service (`corral serve` does).
    public func runHistoryWriter() async { await historyWriter.run() }

    /// Runs one request to its result and records it. Throws only when the request is refused
    /// (what to fix is in the error); a run the policy refuses is a result, `security_violation`.
    /// `options` carries what a local front end adds to the wire request (files, limits, bytes).
    public func execute(_ request: ExecuteRequest, options: ExecuteOptions = ExecuteOptions(),
                        context: ExecutionContext = ExecutionContext()) async throws(EngineError) -> ExecutionResponse {
        var prepared = try resolver.prepare(request, options: options)
        // Each caller's results and artifacts are its own: a hit replays another run's output (a
        // random token, the time, a page fetched with allow_network) and `cached` tells whether it ran.
        prepared.run.cacheNamespace = context.caller
        let decoder = options.onOutput.map(OutputDecoder.init)
        if let decoder { prepared.run.onOutput = { stream, bytes in decoder.take(stream, bytes) } }
        let started = Date()
        let executionID = UUID().uuidString.lowercased()
        var logger = self.logger
        logger[metadataKey: "execution_id"] = .string(executionID)
        if let id = context.requestID { logger[metadataKey: "request_id"] = .string(id) }

        // Strict mode decides before anything runs; warn mode validates alongside the run.
        async let concurrentDecision: PolicyDecision = prepared.policyMode == .warn ? policy.decide(prepared) : .allow
        var decision = PolicyDecision.allow
        if prepared.policyMode == .strict {
            decision = await policy.decide(prepared)
            if case let .refuse(reason, findings) = decision {
                let result = RunResult(status: .securityViolation, errorMessage: reason)
                await finish(executionID: executionID, started: started, prepared: prepared, result: result, runMs: 0,
                             context: context, logger: logger)
                return ExecutionResponse(executionID: executionID, result: result, securityFindings: findings)
            }
        }
        let outcome = try await runOrReplay(request, prepared)
        if let decoder {
            // A replayed result's output comes at once; a run's came as it ran.
            if outcome.result.cached == true {
                decoder.take("stdout", Array(outcome.result.stdout.utf8))
                decoder.take("stderr", Array(outcome.result.stderr.utf8))
            }
            decoder.finish()
        }
        if prepared.policyMode == .warn { decision = await concurrentDecision }
        await finish(executionID: executionID, started: started, prepared: prepared, result: outcome.result, runMs: outcome.runMs,
                     context: context, logger: logger)
        let findings = decision.findings
        return ExecutionResponse(executionID: executionID, result: outcome.result, securityFindings: findings.isEmpty ? nil : findings,
                                 queueTimeMs: outcome.queueMs)
    }

    /// The last steps of every execution, refused ones included: metrics, history, log.
    /// `runMs` is the time from admission to result (jail set-up included, queueing not).
    private func finish(executionID: String, started: Date, prepared: PreparedRequest, result: RunResult, runMs: Double,
                        context: ExecutionContext, logger: Logger) async {
        metrics.recordExecution(language: prepared.language.name, status: result.status.rawValue, durationMs: runMs)
        await historyWriter.record(ExecutionRecord(
            executionId: executionID, createdAt: started, language: prepared.language.name, status: result.status.rawValue,
            exitCode: result.exitCode, executionTimeMs: result.executionTimeMs, cpuTimeMs: result.cpuTimeMs,
            memoryUsedMb: result.memoryUsedMb, cached: result.cached ?? false, codeHash: prepared.codeHash,
            stdout: result.stdout, stderr: result.stderr, errorMessage: result.errorMessage,
            caller: context.caller, requestId: context.requestID))
        logger.info("executed", metadata: [
            "language": .string(prepared.language.name), "status": .string(result.status.rawValue),
            "cached": .stringConvertible(result.cached ?? false), "run_ms": .string(Self.wholeMilliseconds(runMs)),
            "execution_ms": .string(Self.wholeMilliseconds(result.executionTimeMs)),
        ])
    }

    /// A figure for the log, rounded; never a trap: a cached result's figures come from a shared
    /// cache (Redis) that another instance, or whoever can write there, filled.
    static func wholeMilliseconds(_ ms: Double) -> String {
        Int(exactly: ms.rounded()).map(String.init) ?? "\(ms)"
    }

    /// Stops admitting and fails queued requests, kills the warm analyzer workers; then writes what history still holds
    /// (call after `runHistoryWriter()` has returned).
    /// `closingRuntime`: false when the runtime outlives this engine (another engine shares it).
    public func shutdown(closingRuntime: Bool = true) async {
        admission.close()
        tasks.shutdown()
        sessions.shutdown()
        if closingRuntime { runtime.warmPools?.close() }
        policy.shutdown()
        let left = await historyWriter.flush()
        if left > 0 { logger.error("history rows could not be written at shutdown", metadata: ["rows": .stringConvertible(left)]) }
    }
}
