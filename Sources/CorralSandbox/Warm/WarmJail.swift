import Glibc

/// A jail started ahead of time from a template: its interpreter runs and waits for its request.
/// Serves exactly one run (`Sandbox.run(_:in:)`), then dies; dropping it unused kills it.
public final class WarmJail: Sendable {
    let stub: JailStub
    /// The template's limits, in force until the hand-off applies the run's.
    let templateLimits: ResourceLimits
    /// When the jail was started (CLOCK_MONOTONIC ns), for pools that retire idle jails.
    public let startedAt: UInt64

    init(stub: JailStub, templateLimits: ResourceLimits) {
        self.stub = stub
        self.templateLimits = templateLimits
        startedAt = Posix.monotonicNanoseconds()
    }

    /// False once the jail's init is gone (its program died waiting, or something killed it).
    public var isAlive: Bool {
        var p = pollfd(fd: stub.pidfd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) == 0
    }

    /// Memory the waiting jail holds now, as its cgroup counts it (nil without cgroups).
    public var memoryBytes: UInt64? { stub.cgroup?.currentMemoryBytes() }
}
