import CCorralJail
import Glibc
import Synchronization

/// A jail whose program lives across many requests: started once from a `JailSpec` (same root,
/// seccomp filter, uid drop and cgroup limits as a one-shot run), then fed framed requests on its
/// stdin and read for framed replies on its stdout. A frame is a 4-byte big-endian length and
/// that many bytes, both ways.
///
/// One request at a time (its `ServicePool` sees to it). A worker that fails a request in any way
/// (deadline, death, oversized or unreadable reply) is destroyed: its program's state is no longer
/// known, and a fresh worker costs one interpreter start.
final class ServiceJail: Sendable {
    /// Host pid of the jail's init: the worker's identity (killing it ends the whole jail).
    let pid: Int32
    let stub: JailStub
    let maxReplyBytes: Int
    private let counters = Mutex(Counters())

    struct Counters {
        /// Requests this worker answered.
        var served = 0
        var destroyed = false
    }

    init(stub: JailStub, maxReplyBytes: Int) {
        self.stub = stub
        self.pid = stub.pid
        self.maxReplyBytes = maxReplyBytes
    }

    var served: Int { counters.withLock { $0.served } }

    func countServed() { counters.withLock { $0.served += 1 } }

    /// Whether the jail's init still runs (a worker killed while idle must not be handed out).
    var isAlive: Bool {
        // Under the lock: `destroy()` closes the pidfd only after it has set `destroyed`.
        counters.withLock { c in
            guard !c.destroyed else { return false }
            var probe = pollfd(fd: stub.pidfd, events: Int16(POLLIN), revents: 0)
            return poll(&probe, 1, 0) == 0
        }
    }

    /// SIGKILLs the jail; the in-flight exchange, if any, sees it end. Safe from any thread.
    func kill() { stub.kill() }

    /// Kills, reaps and removes the jail (its cgroup, its identity once the stub goes). Idempotent.
    func destroy() {
        let first = counters.withLock { c in defer { c.destroyed = true }; return !c.destroyed }
        if first { stub.destroy() }
    }

    /// Starts `spec`'s program in `stub`: applies the limits, hands the spec to the init. Runs on the
    /// service spawner thread (the spec write blocks until the init has read it).
    static func start(stub: JailStub, spec: SpecEncoder, limits: ResourceLimits, maxReplyBytes: Int) throws(SandboxError) -> ServiceJail {
        try stub.startProgram(spec, limits: limits)
        return ServiceJail(stub: stub, maxReplyBytes: maxReplyBytes)
    }
}

extension JailStub {
    /// Applies `limits` to the jail's cgroup and hands `spec` to its init, which then builds the jail
    /// and runs the program. On failure the stub is destroyed.
    func startProgram(_ spec: SpecEncoder, limits: ResourceLimits) throws(SandboxError) {
        do throws(SandboxError) { try cgroup?.apply(limits) } catch {
            destroy()
            throw error
        }
        let framed = spec.framed()
        var offset = 0
        while offset < framed.count {
            let n = framed.withUnsafeBytes { write(specWrite, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                let e = errno
                destroy()
                throw .system(call: "write", errno: e, context: "handing the spec to a jail's init")
            }
            offset += n
        }
        // specWrite stays open: the init reads a length-framed spec (no EOF needed), and
        // `destroy()` closes every descriptor of the stub; closing it here too would close
        // whatever descriptor reused its number by then.
    }
}
