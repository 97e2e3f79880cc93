import CorralSandbox
import Synchronization

/// The fork-servers of a service, for each language that has one (`fork` in its catalog `warm`
/// entry and named in `WarmPoolSettings.forkServers`): one zygote started at once, more (up to
/// `maxServers`) while every fork is busy, dead ones replaced, and given up (runs use warm or cold
/// jails) after `failureLimit` failed starts in a row — `corral doctor` and `/v1/status` say why.
public final class ForkServers: Sendable {
    /// One language's fork-server, as it stands.
    public struct Snapshot: Sendable, Equatable {
        /// `running`, `starting` or `disabled`.
        public var state = "starting"
        /// Runs forked, runs that fell back (their fork failed before the program started), restarts.
        public var forks = 0, fallbacks = 0, restarts = 0
        /// Zygotes running, forks running now, and forks they can run at once.
        public var zygotes = 0, busy = 0, capacity = 0
        /// Memory the zygotes' jails and their parked jails hold (bytes).
        public var memoryBytes: UInt64 = 0
        public var disabledReason: String?
        public var lastFailure: String?
        public var lastFallback: String?
        public init() {}
    }

    struct Template: Sendable {
        var spec: JailSpec
        var runner: String
        var preload: [String]
    }

    private struct Entry {
        var servers: [ForkServer] = []
        var starting = 0
        var consecutiveFailures = 0
        var snapshot = Snapshot()
    }

    private let sandbox: Sandbox
    private let templates: [String: Template]
    private let failureLimit: Int
    /// Zygotes per language at most (each runs `Sandbox.forksPerZygote` forks at once).
    private let maxServers: Int
    private let state: Mutex<(entries: [String: Entry], closed: Bool)>

    init(sandbox: Sandbox, templates: [String: Template], failureLimit: Int, maxServers: Int) {
        self.sandbox = sandbox
        self.templates = templates
        self.failureLimit = max(1, failureLimit)
        self.maxServers = max(1, maxServers)
        state = Mutex((templates.mapValues { _ in Entry() }, false))
        for name in templates.keys { start(name) }
    }

    public var languages: [String] { templates.keys.sorted() }

    /// A running fork-server of `language` with a fork identity leased for one run, or nil (none
    /// running, or every fork busy for `waitSeconds`). Dead zygotes are replaced; when every fork
    /// is busy another zygote starts, up to the limit.
    public func lease(_ language: String, waitSeconds: Double = 0) async -> (ForkServer, Int)? {
        guard templates[language] != nil else { return nil }
        if let lease = tryLease(language) { return lease }
        guard waitSeconds > 0 else { return nil }
        let deadline = ContinuousClock.now + .milliseconds(Int((min(waitSeconds, 3600) * 1000).rounded()))
        while ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(1))
            if let lease = tryLease(language) { return lease }
            if state.withLock({ $0.closed || $0.entries[language]?.snapshot.disabledReason != nil }) { return nil }
        }
        return nil
    }

    private func tryLease(_ language: String) -> (ForkServer, Int)? {
        var dead: [ForkServer] = []
        var grow = false
        let lease: (ForkServer, Int)? = state.withLock { s in
            guard !s.closed, var entry = s.entries[language] else { return nil }
            defer { s.entries[language] = entry }
            // Dead, or retired (it stopped answering; it stops by itself once its forks have ended).
            dead = entry.servers.filter { !$0.isAlive || $0.isRetired }
            if !dead.isEmpty {
                entry.servers.removeAll { !$0.isAlive || $0.isRetired }
                entry.snapshot.lastFailure = "a zygote died (it is replaced; runs meanwhile use warm or cold jails)"
            }
            for server in entry.servers {
                if let slot = server.leaseIdentity() { return (server, slot) }
            }
            // Every fork busy (or none running): one more zygote, within the limit.
            grow = entry.servers.count + entry.starting < maxServers || (entry.servers.isEmpty && entry.starting == 0)
            return nil
        }
        dead.forEach { $0.retire() }
        if !dead.isEmpty || grow { start(language, restart: !dead.isEmpty) }
        return lease
    }

    private func start(_ language: String, restart: Bool = false) {
        guard let template = templates[language] else { return }
        let go: Bool = state.withLock { s in
            guard !s.closed, var entry = s.entries[language], entry.servers.count + entry.starting < maxServers,
                  entry.snapshot.disabledReason == nil else { return false }
            // One start at a time per language: a burst of busy forks asks for one zygote, not many.
            guard entry.starting == 0 else { return false }
            entry.starting += 1
            if entry.servers.isEmpty { entry.snapshot.state = "starting" }
            if restart { entry.snapshot.restarts += 1 }
            s.entries[language] = entry
            return true
        }
        guard go else { return }
        Task { [weak self] in
            guard let self else { return }
            let started: Result<ForkServer, SandboxError>
            do throws(SandboxError) {
                started = .success(try await sandbox.startForkServer(template.spec, runner: template.runner, preload: template.preload))
            } catch {
                started = .failure(error)
            }
            self.settle(language, started)
        }
    }

    private func settle(_ language: String, _ started: Result<ForkServer, SandboxError>) {
        var surplus: ForkServer?
        var again = false
        state.withLock { s in
            guard var entry = s.entries[language] else { return }
            defer { s.entries[language] = entry }
            entry.starting -= 1
            switch started {
            case .success(let server):
                entry.consecutiveFailures = 0
                if s.closed { surplus = server } else {
                    entry.servers.append(server)
                    entry.snapshot.state = "running"
                }
            case .failure(let error):
                entry.consecutiveFailures += 1
                entry.snapshot.lastFailure = error.description
                if entry.consecutiveFailures >= failureLimit {
                    entry.snapshot.state = "disabled"
                    entry.snapshot.disabledReason = "the \(language) fork-server failed to start \(entry.consecutiveFailures) times in a row "
                        + "(last: \(error.description)); \(language) runs use warm or cold jails"
                } else if entry.servers.isEmpty {
                    again = true
                }
            }
        }
        surplus?.retire()
        if again { start(language, restart: true) }
    }

    func recordFork(_ language: String) {
        state.withLock { $0.entries[language]?.snapshot.forks += 1 }
    }

    func recordFallback(_ language: String, reason: String) {
        state.withLock { s in
            s.entries[language]?.snapshot.fallbacks += 1
            s.entries[language]?.snapshot.lastFallback = reason
        }
    }

    public func snapshot() -> [String: Snapshot] {
        let entries = state.withLock { s in s.entries.mapValues { ($0.snapshot, $0.servers) } }
        return entries.mapValues { snapshot, servers in
            var s = snapshot
            s.zygotes = servers.count
            s.busy = servers.reduce(0) { $0 + $1.busy }
            s.capacity = servers.reduce(0) { $0 + $1.capacity }
            s.memoryBytes = servers.reduce(0) { $0 + ($1.memoryBytes ?? 0) }
            return s
        }
    }

    /// Shrinks what runs no longer use: a zygote no run leased for `idleSeconds` gives up its parked
    /// jails (each identity's next run makes its jail on its own path, then parks again), and every
    /// such zygote but a language's first retires (grown for a burst, it is not kept for the next).
    /// An idle service keeps one bare zygote per language: its start is what runs must not wait for.
    func trim(idleSeconds: Double) {
        let now = Posix.monotonicNanoseconds()
        let idleNs = UInt64(max(0, min(idleSeconds, 86_400)) * 1e9)
        var retiring: [ForkServer] = []
        var quiet: [ForkServer] = []
        state.withLock { s in
            for name in s.entries.keys {
                guard var entry = s.entries[name] else { continue }
                // A dead or broken zygote is not the one kept (the next lease replaces it).
                let healthy = entry.servers.filter { $0.isAlive && !$0.isRetired }
                for (i, server) in healthy.enumerated() where server.busy == 0 && now - min(now, server.lastLeasedAt) >= idleNs {
                    if i == 0 { quiet.append(server) } else { retiring.append(server) }
                }
                entry.servers.removeAll { server in retiring.contains { $0 === server } }
                s.entries[name] = entry
            }
        }
        // A retired zygote stops on the parking queue; its parked jails go now.
        for server in retiring {
            server.retire()
            server.discardParkedJails()
        }
        quiet.forEach { $0.discardParkedJails() }
    }

    /// Retires every zygote: no new fork starts; each stops when its forks in flight have ended.
    func close() {
        let servers = state.withLock { s -> [ForkServer] in
            s.closed = true
            defer { for name in s.entries.keys { s.entries[name]?.servers = [] } }
            return s.entries.values.flatMap(\.servers)
        }
        // Each stops once its forks in flight have ended (they die with their zygote).
        servers.forEach { $0.retire() }
    }
}
