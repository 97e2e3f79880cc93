import CorralSandbox
import Foundation
import Synchronization

/// Warm analyzer workers: per analyzer language, a small pool of long-lived analyzer processes,
/// each in its own jail, answering many validations over its stdin and stdout. A validation then
/// costs the analysis alone (well under a millisecond for small programs), not an interpreter
/// start in a fresh jail (15-20 ms). A worker that fails a validation in any way yields the
/// failure a fresh jail would have given, and is replaced.
public final class AnalyzerWorkers: Sendable {
    /// How many workers and for how long. Defaults suit a service on these machines.
    public struct Configuration: Sendable, Hashable {
        /// Workers per analyzer language (and memory limit), at most; they start on first use,
        /// one more each time every one is busy. More validations wait for a worker.
        public var maximumWorkers = max(2, min(4, ProcessInfo.processInfo.activeProcessorCount))
        /// Validations one worker answers before it is replaced (bounds what a long-lived
        /// interpreter accumulates: fragmented memory, interned strings).
        public var requestsPerWorker = 500
        public init() {}
    }

    /// One pool per language (TypeScript's worker transpiles, JavaScript's does not) and memory limit.
    struct PoolKey: Hashable {
        var language: String
        var memoryMB: Int
    }

    public let configuration: Configuration
    let sandbox: Sandbox
    private let pools = Mutex<(byKey: [PoolKey: ServicePool], closed: Bool)>(([:], false))

    public init(sandbox: Sandbox, configuration: Configuration = Configuration()) {
        self.sandbox = sandbox
        self.configuration = configuration
    }

    deinit { shutdown() }

    /// Kills every worker; later validations fail with `analyzer_unavailable`.
    public func shutdown() {
        let all = pools.withLock { p in
            p.closed = true
            defer { p.byKey.removeAll() }
            return Array(p.byKey.values)
        }
        all.forEach { $0.shutdown() }
    }

    /// Workers started so far, over every language (for tests and status).
    public var workersStarted: Int { pools.withLock { Array($0.byKey.values) }.reduce(0) { $0 + $1.workersStarted } }

    /// Host pids of the live workers of `language` ("python", "javascript", "typescript"), lowest first.
    public func workerPIDs(language: String) -> [Int32] {
        pools.withLock { p in p.byKey.filter { $0.key.language == language }.map(\.value) }.flatMap(\.workerPIDs).sorted()
    }

    /// The pool for `key`, made on first use from `spec` (the worker's program).
    func pool(_ key: PoolKey, spec: @autoclosure () -> JailSpec) -> Result<ServicePool, AnalysisFailure> {
        pools.withLock { p in
            if p.closed {
                return .failure(AnalysisFailure(code: .analyzerUnavailable, message: "the analyzer workers are shut down"))
            }
            if let pool = p.byKey[key] { return .success(pool) }
            var service = ServicePool.Configuration(spec: spec())
            service.maximumWorkers = configuration.maximumWorkers
            service.requestsPerWorker = configuration.requestsPerWorker
            service.maxReplyBytes = SyntaxTreeAnalyzer.maxOutputBytes
            do throws(SandboxError) {
                let pool = try sandbox.servicePool(service)
                p.byKey[key] = pool
                return .success(pool)
            } catch {
                return .failure(AnalysisFailure(code: .analyzerUnavailable, message: "no jail for the analyzer: \(error)"))
            }
        }
    }
}
