import CorralSandbox
import Foundation
import Synchronization

/// Per-language pools of warm jails: jails whose interpreter has started and waits for its code
/// (see `Sandbox.prestart`). A run takes one, hands it its files, argv, environment and stdin, and
/// the jail serves that one run and dies; isolation is the cold jail's, by construction.
public final class WarmPools: Sendable {
    /// What one language's pool holds and has done.
    public struct Snapshot: Sendable, Equatable {
        public var ready = 0
        public var starting = 0
        public var target = 0
        /// Runs that took a warm jail, found none, or fell back to a cold jail because theirs failed.
        public var hits = 0, misses = 0, fallbacks = 0
        /// Memory the ready jails hold now (bytes, as their cgroups count it).
        public var memoryBytes: UInt64 = 0
        /// Why the pool stopped starting jails, if it did (runs then go cold).
        public var disabledReason: String?
        /// The last failure to start a warm jail.
        public var lastFailure: String?
        /// Why the last fallback happened (a taken jail failed before its run).
        public var lastFallback: String?
        /// The language's fork-server, when it has one (its runs are forks; the pool serves the rest).
        public var forkServer: ForkServers.Snapshot?

        public init() {}
    }

    private struct Pool {
        var ready: [WarmJail] = []
        var snapshot = Snapshot()
        var consecutiveFailures = 0
        var lastDemand: UInt64 = 0
        /// Memory one waiting jail of this language was last seen to hold.
        var memoryEstimate: UInt64 = 48 << 20
    }

    public let settings: WarmPoolSettings
    /// Fork-servers of the languages that have one (nil: none).
    public let forkServers: ForkServers?
    private let sandbox: Sandbox
    private let templates: [String: JailSpec]
    private let state: Mutex<(pools: [String: Pool], closed: Bool)>

    /// Pools for every language of `templates` (name → the spec its warm jails start from).
    init(sandbox: Sandbox, templates: [String: JailSpec], forkTemplates: [String: ForkServers.Template] = [:],
         settings: WarmPoolSettings) {
        self.sandbox = sandbox
        self.templates = templates
        self.settings = settings
        forkServers = forkTemplates.isEmpty ? nil
            : ForkServers(sandbox: sandbox, templates: forkTemplates, failureLimit: settings.failureLimit,
                          maxServers: settings.zygotesPerLanguage)
        var pools: [String: Pool] = [:]
        for name in templates.keys {
            var pool = Pool()
            if settings.prewarm.contains(name) { pool.snapshot.target = min(1, settings.maxPerLanguage) }
            pools[name] = pool
        }
        state = Mutex((pools, false))
        for name in templates.keys { refill(name) }
        let period = max(1, min(30, settings.idleSeconds / 4))
        Task.detached { [weak self] in
            while true {
                try? await Task.sleep(for: .seconds(period))
                guard let self, !self.isClosed else { return }
                self.trim()
            }
        }
    }

    private var isClosed: Bool { state.withLock { $0.closed } }

    /// Languages that have a pool.
    public var languages: [String] { templates.keys.sorted() }

    /// A ready jail of `language`, or nil (the caller runs cold); either way the pool adapts. With
    /// `waitForJailSeconds`, a miss waits that long for a jail the pool is starting.
    func take(_ language: String) async -> WarmJail? {
        if let jail = takeReady(language, growing: true) { return jail }
        if settings.waitForJailSeconds > 0 {
            let deadline = ContinuousClock.now + .milliseconds(Int((min(settings.waitForJailSeconds, 3600) * 1000).rounded()))
            while ContinuousClock.now < deadline, !isClosed {
                try? await Task.sleep(for: .milliseconds(5))
                if let jail = takeReady(language, growing: false) { return jail }
            }
        }
        // One count per run: a run that waited and took a jail was a hit, never also a miss.
        state.withLock { s in s.pools[language]?.snapshot.misses += 1 }
        return nil
    }

    /// A ready jail of `language`, counted as a hit; nil when none is. `growing`: a run's first
    /// look, whose finding none grows the pool's target by one.
    private func takeReady(_ language: String, growing: Bool) -> WarmJail? {
        let now = Posix.monotonicNanoseconds()
        var dead: [WarmJail] = []
        let jail: WarmJail? = state.withLock { s in
            guard !s.closed, var pool = s.pools[language] else { return nil }
            defer { s.pools[language] = pool }
            pool.lastDemand = now
            while let candidate = pool.ready.popLast() {
                if candidate.isAlive {
                    pool.snapshot.hits += 1
                    pool.snapshot.ready = pool.ready.count
                    return candidate
                }
                dead.append(candidate)
            }
            pool.snapshot.ready = 0
            if growing, pool.snapshot.disabledReason == nil {
                pool.snapshot.target = min(settings.maxPerLanguage, pool.snapshot.target + 1)
            }
            return nil
        }
        dead.removeAll() // destroyed outside the lock
        refill(language)
        return jail
    }

    /// A taken jail failed before its run started; the run went cold.
    func recordFallback(_ language: String, reason: String) {
        state.withLock { s in
            s.pools[language]?.snapshot.fallbacks += 1
            s.pools[language]?.snapshot.lastFallback = reason
        }
    }

    /// Starts jails until the pool reaches its target, within the memory budget.
    private func refill(_ language: String) {
        guard let template = templates[language] else { return }
        let count: Int = state.withLock { s in
            guard !s.closed, var pool = s.pools[language], pool.snapshot.disabledReason == nil else { return 0 }
            defer { s.pools[language] = pool }
            let wanted = pool.snapshot.target - pool.ready.count - pool.snapshot.starting
            guard wanted > 0 else { return 0 }
            let budget = UInt64(settings.memoryBudgetMB) << 20
            var committed: UInt64 = 0
            for p in s.pools.values { committed += UInt64(p.ready.count + p.snapshot.starting) * p.memoryEstimate }
            let room = committed >= budget ? 0 : Int((budget - committed) / max(pool.memoryEstimate, 1))
            let n = min(wanted, room)
            pool.snapshot.starting += n
            return n
        }
        for _ in 0..<count {
            Task { [weak self] in
                guard let self else { return }
                let started: Result<WarmJail, SandboxError>
                do throws(SandboxError) { started = .success(try await sandbox.prestart(template)) } catch {
                    started = .failure(error)
                }
                self.settle(language, started)
            }
        }
    }

    private func settle(_ language: String, _ started: Result<WarmJail, SandboxError>) {
        // What a ready (idle) jail of this language holds: the estimate the memory budget uses.
        let waiting = (try? started.get())?.memoryBytes
        var surplus: WarmJail?
        var again = false
        state.withLock { s in
            guard var pool = s.pools[language] else { return }
            defer { s.pools[language] = pool }
            pool.snapshot.starting -= 1
            switch started {
            case .success(let jail):
                pool.consecutiveFailures = 0
                if let bytes = waiting { pool.memoryEstimate = max(bytes, 4 << 20) }
                if s.closed || pool.ready.count >= pool.snapshot.target { surplus = jail } else { pool.ready.append(jail) }
            case .failure(let error):
                pool.consecutiveFailures += 1
                pool.snapshot.lastFailure = error.description
                if pool.consecutiveFailures >= settings.failureLimit {
                    pool.snapshot.disabledReason = "\(pool.consecutiveFailures) warm jails in a row failed to start "
                        + "(last: \(error.description)); \(language) runs use cold jails"
                } else {
                    again = true
                }
            }
            pool.snapshot.ready = pool.ready.count
        }
        surplus = nil
        if again { refill(language) }
    }

    /// Retires jails that waited longer than `idleSeconds` in pools nobody asked of for as long,
    /// lowering those pools' targets: an idle service holds no warm jail; idle fork-servers shrink
    /// too (`ForkServers.trim`). Called periodically.
    public func trim() {
        let now = Posix.monotonicNanoseconds()
        let idleNs = UInt64(max(0, settings.idleSeconds) * 1e9)
        var retired: [WarmJail] = []
        state.withLock { s in
            for name in s.pools.keys {
                guard var pool = s.pools[name], now - min(now, pool.lastDemand) >= idleNs else { continue }
                while let jail = pool.ready.first, now - min(now, jail.startedAt) >= idleNs {
                    retired.append(pool.ready.removeFirst())
                    pool.snapshot.target = max(0, pool.snapshot.target - 1)
                }
                pool.snapshot.ready = pool.ready.count
                s.pools[name] = pool
            }
        }
        retired.removeAll()
        forkServers?.trim(idleSeconds: settings.idleSeconds)
    }

    /// Each language's pool as it stands.
    public func snapshot() -> [String: Snapshot] {
        let pools = state.withLock { s in s.pools.mapValues { ($0.snapshot, $0.ready) } }
        let forks = forkServers?.snapshot() ?? [:]
        return pools.mapValues { snapshot, ready in
            var s = snapshot
            s.memoryBytes = ready.reduce(0) { $0 + ($1.memoryBytes ?? 0) }
            return s
        }.merging(forks.mapValues { fork in var s = Snapshot(); s.forkServer = fork; return s }) { pool, fork in
            var s = pool
            s.forkServer = fork.forkServer
            return s
        }
    }

    /// Kills every waiting jail; no new ones start. Runs in flight finish normally.
    public func close() {
        forkServers?.close()
        let jails = state.withLock { s -> [WarmJail] in
            s.closed = true
            defer { for name in s.pools.keys { s.pools[name]?.ready.removeAll(); s.pools[name]?.snapshot.ready = 0 } }
            return s.pools.values.flatMap(\.ready)
        }
        _ = jails
    }
}
