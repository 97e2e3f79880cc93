import CorralRuntimes
import CorralSandbox

/// What the cache-or-run step produced, with where its time went.
struct RunOutcome: Sendable {
    var result: RunResult
    /// Milliseconds waited for admission; nil for a cache hit, which never queues.
    var queueMs: Double?
    /// Milliseconds from admission to result: jail set-up and the run (0 for a hit).
    var runMs: Double
}

extension Engine {
    /// Steps 3 to 5: the result cache, else admission (bounded, by priority) and the run.
    /// The result's `execution_time_ms` is the program's own, as the sandbox measured it in the
    /// jail; the wait for admission is returned beside it, never added to it.
    func runOrReplay(_ request: ExecuteRequest, _ prepared: PreparedRequest) async throws(EngineError) -> RunOutcome {
        let cacheKey = request.useCache == false || !configuration.cacheEnabled ? nil : await resultKey(prepared)
        if let cacheKey, var hit = await cache.get(cacheKey) {
            metrics.cacheHit()
            hit.cached = true
            // Nothing was compiled for a hit: its compile stage, kept with the result, was cached too.
            hit.compile?.cached = true
            return RunOutcome(result: hit, queueMs: nil, runMs: 0)
        }
        if cacheKey != nil { metrics.cacheMiss() }
        let clock = ContinuousClock()
        let queued = clock.now
        do {
            try await admission.acquire(request.priority ?? .medium, retryAfterSeconds: self.retryAfterEstimate())
        } catch {
            if error.code == .queueFull { metrics.rejectedByAdmission() }
            throw error
        }
        let admitted = clock.now
        var result = await runtime.run(prepared.run)
        admission.release()
        let finished = clock.now
        result.cached = false
        if let cacheKey, Self.isCacheable(result) {
            await cache.set(cacheKey, result, ttlSeconds: configuration.cacheTTLSeconds)
        }
        return RunOutcome(result: result, queueMs: Self.milliseconds(admitted - queued), runMs: Self.milliseconds(finished - admitted))
    }

    /// The result cache key of `prepared` (see `ResultKey`), with its toolchain's version.
    func resultKey(_ prepared: PreparedRequest) async -> String {
        ResultKey.make(prepared, toolchainVersion: await runtime.versions.version(of: prepared.language) ?? "")
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
        let seconds = (queued * perRun / Double(admission.workers)).rounded(.up)
        // A Double far beyond Int (a huge average) must not trap the conversion.
        return seconds < 86_400 ? max(1, Int(seconds)) : 86_400
    }

    static func milliseconds(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }
}
