import Glibc
import Synchronization

/// Keeps a few stubs cloned ahead of time so that a run pays neither the
/// clone of a large process nor the cgroup v1 migration (5–20 ms when the
/// host is idle, see DESIGN.md) on its critical path.
///
/// When to refill matters as much as refilling. Moving a stub into its v1
/// cgroup holds the kernel's `cgroup_mutex` through an RCU grace period, and
/// every run ends by removing its cgroup, which needs that mutex: a refill
/// started as a run begins made that run's end wait up to 20 ms (measured
/// with `corral-bench jail`: cgroup removal p95 9 ms, max 25 ms). So a
/// refill waits until the runs that took stubs have ended, unless the pool
/// has run dry, when the next caller would otherwise clone on its own
/// critical path.
final class StubPool: Sendable {
    private struct State {
        var ready: [JailStub] = []
        var refilling = 0
        var closed = false
        /// Stubs handed to runs that have not ended yet.
        var inUse = 0
        var lastRefillFailure: String?
    }
    private let state = Mutex(State())
    private let spawner: SpawnerThread
    private let hierarchy: CgroupHierarchy
    private let identities: JailIdentityPool
    let targetSize: Int

    init(spawner: SpawnerThread, hierarchy: CgroupHierarchy, identities: JailIdentityPool, targetSize: Int) {
        self.spawner = spawner; self.hierarchy = hierarchy; self.identities = identities; self.targetSize = targetSize
    }

    /// A jail's cgroup name: unique in the process, whichever sandbox (pool) makes it — two
    /// sandboxes of one process numbering their own would make the same group twice.
    static func nextCgroupName() -> String { "\(getpid())-\(ServiceSpawner.nextNumber())" }

    /// A ready stub, or a fresh one when the pool is empty.
    func acquire() async throws(SandboxError) -> JailStub {
        let (pooled, dry) = state.withLock { s -> (JailStub?, Bool) in
            s.inUse += 1
            let stub = s.ready.popLast()
            return (stub, s.ready.isEmpty)
        }
        // Dry: the next caller would clone on its own path; refill now. Else wait for this run to end.
        if dry { refill() }
        let stub: JailStub
        if let pooled {
            stub = pooled
        } else {
            let hierarchy = self.hierarchy, identities = self.identities, name = Self.nextCgroupName()
            do throws(SandboxError) {
                stub = try await spawner.run { () throws(SandboxError) -> JailStub in
                    try JailStub.spawn(hierarchy: hierarchy, identities: identities, name: name)
                }
            } catch {
                released()
                throw error
            }
        }
        stub.onRelease { [weak self] in self?.released() }
        return stub
    }

    /// A run has let go of its stub: once no run is in flight, top the pool up.
    private func released() {
        let idle = state.withLock { s in
            s.inUse -= 1
            return s.inUse == 0 || s.ready.isEmpty
        }
        if idle { refill() }
    }

    /// Clones stubs in the background until the pool holds `targetSize`.
    func refill() {
        let names: [String] = state.withLock { s in
            guard !s.closed else { return [] }
            var names: [String] = []
            while s.ready.count + s.refilling < targetSize {
                s.refilling += 1
                names.append(Self.nextCgroupName())
            }
            return names
        }
        for name in names {
            let hierarchy = self.hierarchy, identities = self.identities
            spawner.submit { [self] in
                var stub: JailStub?
                var failure: SandboxError?
                do throws(SandboxError) { stub = try JailStub.spawn(hierarchy: hierarchy, identities: identities, name: name) } catch {
                    failure = error
                }
                let leftover: JailStub? = state.withLock { s in
                    s.refilling -= 1
                    // A failed refill costs nothing now (the next run clones on its own path and reports
                    // the error there); it is kept for `corral doctor` and /v1/status to show.
                    if let failure { s.lastRefillFailure = failure.description }
                    guard let stub, !s.closed else { return stub }
                    s.ready.append(stub)
                    return nil
                }
                leftover?.destroy()
            }
        }
    }

    /// Kills every waiting stub; no new ones are cloned.
    func close() {
        let stubs = state.withLock { s -> [JailStub] in
            s.closed = true
            defer { s.ready.removeAll() }
            return s.ready
        }
        stubs.forEach { $0.destroy() }
    }

    var readyCount: Int { state.withLock { $0.ready.count } }

    /// Why the last background refill failed, if one did.
    var lastRefillFailure: String? { state.withLock { $0.lastRefillFailure } }
}
