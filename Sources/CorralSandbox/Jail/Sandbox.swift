import Foundation
import Glibc
import Synchronization

/// The sandbox: runs one `JailSpec` in a fresh jail and returns its exact result.
/// One instance per process is enough; it is safe to call from many tasks at once.
public final class Sandbox: Sendable {
    /// How the sandbox sets jails up. Defaults suit a service on these machines.
    public struct Configuration: Sendable {
        /// Stubs cloned ahead of time (0 disables the pool).
        public var poolSize = 2
        /// Host directory where each jail builds its root before `pivot_root` (world-searchable).
        public var stagingRoot = "/run/corral/root"
        /// Name of Corral's parent cgroup.
        public var cgroupName = "corral"
        /// Install the seccomp filter (only tests that prove the filter's effect turn it off).
        public var seccomp = true
        public init() {}
    }

    public let configuration: Configuration
    public let cgroups: CgroupHierarchy
    let pool: StubPool
    let seccompProgram: [UInt8]?
    let identities = JailIdentityPool()
    let startedCount = Mutex(0)
    /// Runs whose result was handed over but whose jail is still being torn down (init reaped,
    /// cgroup removed): `shutdown()` waits for them so that a one-shot process leaves nothing behind.
    let teardowns = Mutex(0)

    /// Jails that received a spec (a program was about to run) since this sandbox started.
    public var jailsStarted: Int { startedCount.withLock { $0 } }

    public init(configuration: Configuration = Configuration()) throws(SandboxError) {
        self.configuration = configuration
        signal(SIGPIPE, SIG_IGN) // a program that closes its stdin must not kill the service
        try Posix.makeDirectories(configuration.stagingRoot)
        chmod(configuration.stagingRoot, 0o755)
        try ScratchMount.prepareParent()
        cgroups = CgroupHierarchy.detect(name: configuration.cgroupName)
        JailCgroup.removeStale(in: cgroups)
        SessionWorkspace.removeStale()
        degradations = Self.degradations(of: cgroups)
        if configuration.seccomp {
            seccompProgram = try SeccompFilter.program.get()
        } else {
            seccompProgram = nil
        }
        pool = StubPool(spawner: try SpawnerThread(), hierarchy: cgroups, identities: identities, targetSize: configuration.poolSize)
        pool.refill()
    }

    /// What this host cannot enforce, in words a user can act on (empty when fully isolated).
    public let degradations: [String]

    private static func degradations(of cgroups: CgroupHierarchy) -> [String] {
        switch cgroups {
        case .unavailable(let reason):
            return ["no cgroups (\(reason)): memory is limited by RLIMIT_AS and processes by RLIMIT_NPROC, peak memory is the largest process's"]
        case .v1(let roots):
            guard let memory = roots["memory"], Posix.exists(memory + "/" + JailCgroup.v1SocketMemoryFile) else {
                return ["cgroup v1 without \(JailCgroup.v1SocketMemoryFile): socket buffers are not charged to the memory limit"]
            }
            return []
        case .v2:
            return []
        }
    }

    /// Runs `spec` to its end. Never throws: every failure is a result with a status.
    /// `started` sees the jail before its program runs (tests use it to prove nothing outlives the run).
    public func run(_ spec: JailSpec, started: (@Sendable (JailHandle) -> Void)? = nil) async -> RunResult {
        do throws(SandboxError) {
            try spec.limits.validate()
        } catch {
            return .internalError(error.description)
        }
        var layout = JailLayout(stagingRoot: configuration.stagingRoot, programID: JailIdentity.programID, seccompProgram: seccompProgram)
        layout.rlimitFallback = cgroups.isUnavailable
        let encoded: SpecEncoder
        do throws(SandboxError) { encoded = try layout.encode(spec) } catch {
            return .internalError(error.description)
        }
        let stub: JailStub
        do throws(SandboxError) { stub = try await pool.acquire() } catch {
            return .internalError("could not create a jail: \(error)")
        }
        // A writable output directory belongs to this jail's program alone: its host uid is the slot's.
        if let out = spec.outputDirectory, !spec.outputReadOnly, let identity = stub.identity,
           chown(out, identity.programHostID, identity.programHostID) != 0 {
            let e = errno
            stub.destroy()
            return .internalError(SandboxError.system(call: "chown", errno: e, context: "the jail's output directory \(out)").description)
        }
        started?(JailHandle(stub, warm: false))
        var network: SlirpNetwork?
        if spec.network {
            do throws(SandboxError) { network = try await Self.onOwnThread { () throws(SandboxError) in try SlirpNetwork.start(jailPID: stub.pid) } } catch {
                stub.destroy()
                return .internalError(error.description)
            }
        }
        defer { network?.stop() }
        startedCount.withLock { $0 += 1 }
        var supervisor = RunSupervisor(stub: stub, spec: encoded, limits: spec.limits, stdin: spec.stdin)
        supervisor.onOutput = spec.onOutput
        var (result, _) = await supervise(supervisor, threadName: "corral-run-\(stub.pid)")
        let degraded = degradations
        if !degraded.isEmpty { result.degraded = degraded }
        return result
    }

    /// Drives `supervisor` on a thread of its own (it blocks in poll) and returns its result and
    /// whether the program got its run; the jail's teardown continues on that thread after the
    /// result is handed over (see `RunSupervisor.releaseCgroup`), counted in `teardowns`. A
    /// cancelled caller kills the jail.
    func supervise(_ supervisor: RunSupervisor, threadName: String) async -> (RunResult, Bool) {
        let stub = supervisor.stub
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<(RunResult, Bool), Never>) in
                teardowns.withLock { $0 += 1 }
                let thread = Thread { [self] in
                    continuation.resume(returning: supervisor.runReportingHandoff())
                    supervisor.releaseCgroup()
                    teardowns.withLock { $0 -= 1 }
                }
                thread.name = threadName
                thread.start()
            }
        } onCancel: {
            stub.cancel()
        }
    }

    /// Runs blocking setup (waiting for slirp4netns, up to seconds) on a thread of its own, never on
    /// the cooperative pool, which has one thread per core.
    static func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws(SandboxError) -> T) async throws(SandboxError) -> T {
        let result: Result<T, SandboxError> = await withCheckedContinuation { continuation in
            Thread {
                do throws(SandboxError) { continuation.resume(returning: .success(try body())) } catch {
                    continuation.resume(returning: .failure(error))
                }
            }.start()
        }
        return try result.get()
    }

    /// Kills the stubs waiting in the pool and waits (up to 5 s) for finished runs' jails to be torn
    /// down. Runs in flight finish normally.
    public func shutdown() {
        pool.close()
        for _ in 0..<500 where teardowns.withLock({ $0 }) > 0 { usleep(10_000) }
    }

    /// Stubs ready in the pool (for tests and `corral doctor`).
    public var pooledJails: Int { pool.readyCount }

    /// Identity slots held by jails that are alive (pooled or running).
    public var identitiesInUse: Int { identities.inUse }

    /// Of those, the slots fork-servers hold for their forks (`ForkServer`), whether a fork uses one now or not.
    public var identitiesReservedForForks: Int { identities.reservedForForks.load(ordering: .relaxed) }

    /// Why cloning a jail in the background last failed, if it did (for `corral doctor` and status).
    public var lastPoolFailure: String? { pool.lastRefillFailure }
}

extension CgroupHierarchy {
    /// No writable cgroup: limits fall back to rlimits.
    public var isUnavailable: Bool {
        if case .unavailable = self { return true }
        return false
    }
}

/// What identifies one jail on the host while it runs.
public struct JailHandle: Sendable {
    /// Host pid of the jail's init.
    public var initPID: Int32
    /// `pid:[inode]` of the jail's PID namespace: no host process is in it once the run has returned.
    public var pidNamespace: String
    /// The jail's cgroup directories: removed once the run has returned.
    public var cgroupDirectories: [String]
    /// Whether the jail was a warm one (started ahead of the run, see `Sandbox.prestart`), or a fork
    /// of a fork-server's zygote (`Sandbox.run(_:forkingFrom:)`, warm too).
    public var warm = false
    public var forked = false
}

extension JailHandle {
    init(_ stub: JailStub, warm: Bool, forked: Bool = false) {
        self.init(initPID: stub.pid, pidNamespace: Posix.readLink("/proc/\(stub.pid)/ns/pid") ?? "",
                  cgroupDirectories: stub.cgroup.map { Array($0.directories.values) } ?? [], warm: warm, forked: forked)
    }
}
