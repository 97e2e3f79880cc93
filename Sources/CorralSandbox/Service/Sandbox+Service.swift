import Glibc
import Synchronization

extension Sandbox {
    /// A pool of workers each running `configuration.spec`'s program for many requests (see
    /// `ServicePool`). Workers start on first use. Throws when the spec cannot be a service:
    /// invalid limits, a stdin, a network or an output directory.
    public func servicePool(_ configuration: ServicePool.Configuration) throws(SandboxError) -> ServicePool {
        let spec = configuration.spec
        try spec.limits.validate()
        guard spec.stdin.isEmpty, !spec.network, spec.outputDirectory == nil else {
            throw .invalidRequest("a service jail takes its requests on stdin and has no network and no output directory; "
                + "remove stdin, network and outputDirectory from its spec")
        }
        guard configuration.maximumWorkers >= 1, configuration.requestsPerWorker >= 1,
              configuration.maxReplyBytes >= 1, configuration.maxRequestBytes >= 1 else {
            throw .invalidRequest("a service pool needs at least one worker, one request per worker and room for a reply "
                + "(maximumWorkers, requestsPerWorker, maxReplyBytes, maxRequestBytes must be 1 or more)")
        }
        return ServicePool(sandbox: self, configuration: configuration)
    }

    /// Starts `spec`'s program in a fresh jail laid out exactly as a one-shot run's (root, seccomp,
    /// uid drop, cgroup limits), its stdin and stdout left open for frames.
    func startServiceJail(_ spec: JailSpec, maxReplyBytes: Int) async throws(SandboxError) -> ServiceJail {
        var layout = JailLayout(stagingRoot: configuration.stagingRoot, programID: JailIdentity.programID, seccompProgram: seccompProgram)
        layout.rlimitFallback = cgroups.isUnavailable
        let encoded = try layout.encode(spec)
        let spawner = try ServiceSpawner.shared()
        let hierarchy = cgroups, identities = self.identities, limits = spec.limits
        let name = "\(getpid())-service-\(ServiceSpawner.nextNumber())"
        return try await spawner.run { () throws(SandboxError) -> ServiceJail in
            let stub = try JailStub.spawn(hierarchy: hierarchy, identities: identities, name: name)
            return try ServiceJail.start(stub: stub, spec: encoded, limits: limits, maxReplyBytes: maxReplyBytes)
        }
    }
}

/// The thread that clones service jails. Not the stub pool's: a pool stub taken for a worker that
/// lives for minutes would count as a run in flight the whole time, and the pool refills only once
/// no run is in flight (or when it runs dry), so one-shot runs would end up paying the refill's
/// cgroup migration on their own path. Workers start rarely; their clone may take its time here.
enum ServiceSpawner {
    private static let spawner = Mutex<SpawnerThread?>(nil)
    private static let counter = Atomic<Int>(0)

    /// The process's one service spawner, started on first use (like the pool's, it lives as long
    /// as the process: jails' parent-death signal is tied to the thread that cloned them).
    static func shared() throws(SandboxError) -> SpawnerThread {
        try spawner.withLock { (current: inout SpawnerThread?) throws(SandboxError) -> SpawnerThread in
            if let current { return current }
            let started = try SpawnerThread()
            current = started
            return started
        }
    }

    static func nextNumber() -> Int { counter.add(1, ordering: .relaxed).newValue }
}
