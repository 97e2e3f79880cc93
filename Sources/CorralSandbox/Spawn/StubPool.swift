import Glibc
import Synchronization

/// Keeps a few stubs cloned ahead of time so that a run pays neither the
/// clone of a large process nor the cgroup v1 migration (5–20 ms when the
/// host is idle, see DESIGN.md) on its critical path.
final class StubPool: Sendable {
    private struct State {
        var ready: [JailStub] = []
        var refilling = 0
        var closed = false
        var counter = 0
    }
    private let state = Mutex(State())
    private let spawner: SpawnerThread
    private let hierarchy: CgroupHierarchy
    private let ids: JailStub.IDMap
    let targetSize: Int

    init(spawner: SpawnerThread, hierarchy: CgroupHierarchy, ids: JailStub.IDMap, targetSize: Int) {
        self.spawner = spawner; self.hierarchy = hierarchy; self.ids = ids; self.targetSize = targetSize
    }

    /// A ready stub, or a fresh one when the pool is empty.
    func acquire() async throws(SandboxError) -> JailStub {
        let (stub, name) = state.withLock { s -> (JailStub?, String) in
            s.counter += 1
            return (s.ready.popLast(), "\(getpid())-\(s.counter)")
        }
        defer { refill() }
        if let stub { return stub }
        let hierarchy = self.hierarchy, ids = self.ids
        return try await spawner.run { () throws(SandboxError) -> JailStub in
            try JailStub.spawn(hierarchy: hierarchy, ids: ids, name: name)
        }
    }

    /// Clones stubs in the background until the pool holds `targetSize`.
    func refill() {
        let names: [String] = state.withLock { s in
            guard !s.closed else { return [] }
            var names: [String] = []
            while s.ready.count + s.refilling < targetSize {
                s.refilling += 1; s.counter += 1
                names.append("\(getpid())-\(s.counter)")
            }
            return names
        }
        for name in names {
            let hierarchy = self.hierarchy, ids = self.ids
            spawner.submit { [self] in
                let stub = try? JailStub.spawn(hierarchy: hierarchy, ids: ids, name: name)
                let leftover: JailStub? = state.withLock { s in
                    s.refilling -= 1
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
}
