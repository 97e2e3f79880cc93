import CCorralSyscalls
import CCorralJail
import Glibc
import Synchronization

/// A cloned jail init waiting for its spec: in all its namespaces, mapped,
/// in its own cgroup. Consumed by exactly one run.
final class JailStub: @unchecked Sendable {
    let pid: pid_t
    let pidfd: Int32
    let cgroup: JailCgroup?
    /// The host ids of this jail, returned to `identities` when the stub goes (none for a forked
    /// run's jail: it runs with its fork-server's ids).
    let identity: JailIdentity?
    private let identities: JailIdentityPool?
    /// A forked run's jail (`ForkServer`): its init is not this process's child but its zygote's
    /// jail's, which reaps it; it is never waited for here (its pid may soon be another process's).
    let isForked: Bool
    /// Parent ends.
    let stdinWrite: Int32, stdoutRead: Int32, stderrRead: Int32, specWrite: Int32, statusRead: Int32
    /// The CPU the init had used before it joined its cgroup (v1: the host moves it in after the
    /// clone; v2: 0, it is cloned into it): its CPU in the cgroup is its total less this. Nil when
    /// unknown (no /proc/PID/schedstat): nothing of the init's CPU is then left out of the run's.
    private(set) var cpuBeforeCgroupNanoseconds: UInt64? = 0
    /// Set once the init is reaped: its pidfd may then be closed and must not be signalled.
    private let reaped = Mutex(false)
    /// Called once when the run that acquired this stub lets go of it (its cgroup is removed by then).
    private let releaseHook = Mutex<(@Sendable () -> Void)?>(nil)

    /// CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP
    static let namespaceFlags: UInt64 = 0x1000_0000 | 0x2000_0000 | 0x0002_0000 | 0x4000_0000 | 0x0800_0000 | 0x0400_0000 | 0x0200_0000

    private init(pid: pid_t, pidfd: Int32, cgroup: JailCgroup?, identity: JailIdentity?, identities: JailIdentityPool?,
                 fds: (Int32, Int32, Int32, Int32, Int32), isForked: Bool = false) {
        self.pid = pid; self.pidfd = pidfd; self.cgroup = cgroup
        self.identity = identity; self.identities = identities
        self.isForked = isForked
        (stdinWrite, stdoutRead, stderrRead, specWrite, statusRead) = fds
    }

    /// The jail of a run forked by a fork-server: its init (`pid`, host view, and `pidfd`), its run's
    /// cgroup and the parent ends of its streams. There is no spec to write (`specWrite` is -1).
    static func forked(pid: pid_t, pidfd: Int32, cgroup: JailCgroup, stdinWrite: Int32, stdoutRead: Int32,
                       stderrRead: Int32, statusRead: Int32) -> JailStub {
        JailStub(pid: pid, pidfd: pidfd, cgroup: cgroup, identity: nil, identities: nil,
                 fds: (stdinWrite, stdoutRead, stderrRead, -1, statusRead), isForked: true)
    }

    /// Whether inits unmap the service's memory they inherit: only in an executable linked with
    /// `-z now` (every binary of this package is: Package.swift). Without it an init keeps that memory,
    /// and counts it as its own: the OOM killer may then take it before a program at a small limit.
    static let shedsMemory = corral_executable_binds_now() != 0

    /// Clones a stub. Runs on the spawner thread. The stub owns an identity from `identities` until it goes:
    /// a fresh one, or `acquired` (taken from `identities` by the caller, who needed its ids first).
    /// `stdinSocket`: the program's stdin is a unix stream socket (a fork-server's zygote receives each
    /// run's descriptors on it), not a pipe; `stdinWrite` is then the parent's (blocking) end.
    /// `extraIDMap`: more lines of the uid and gid maps (a zygote maps the identities its forks run as).
    static func spawn(hierarchy: CgroupHierarchy, identities: JailIdentityPool, name: String,
                      acquired: JailIdentity? = nil, stdinSocket: Bool = false, extraIDMap: String = "") throws(SandboxError) -> JailStub {
        let identity: JailIdentity
        if let acquired { identity = acquired } else { identity = try identities.acquire() }
        var ownedByStub = false
        defer { if !ownedByStub { identities.release(identity) } }
        let stdin = stdinSocket ? try Posix.socketPair() : try Posix.pipe(nonBlockingWrite: true)
        let stdout = try Posix.pipe(nonBlockingRead: true)
        let stderr = try Posix.pipe(nonBlockingRead: true)
        let spec = try Posix.pipe()
        let status = try Posix.pipe(nonBlockingRead: true)
        let childEnds = [stdin.0, stdout.1, stderr.1, spec.0, status.1]
        // Pipes are created 0600 for host root: the program (another uid) could not reopen its own
        // stdio through /dev/stdin (= /proc/self/fd/0), as `sqlite3 .import /dev/stdin` does.
        for fd in [stdin.0, stdout.1, stderr.1] { fchmod(fd, 0o666) }
        let parentEnds = [stdin.1, stdout.0, stderr.0, spec.1, status.0]
        var cgroup: JailCgroup?
        var cgroupFD: Int32 = -1
        func cleanup() {
            (childEnds + parentEnds).forEach { close($0) }
            if cgroupFD >= 0 { close(cgroupFD) }
            cgroup?.remove()
        }
        if !hierarchy.isUnavailable {
            do throws(SandboxError) { cgroup = try JailCgroup.create(in: hierarchy, name: name) } catch {
                cleanup(); throw error
            }
            cgroupFD = cgroup!.openForClone()
            // On v2 the jail is cloned into its cgroup or not made: `place` does nothing there, and a
            // jail cloned without it would run outside every limit.
            if case .v2 = hierarchy, cgroupFD < 0 {
                let e = errno
                cleanup()
                throw .system(call: "open", errno: e, context: "the jail's cgroup directory (for CLONE_INTO_CGROUP)")
            }
        }
        var request = corral_clone_request(
            namespace_flags: namespaceFlags, stdin_fd: stdin.0, stdout_fd: stdout.1, stderr_fd: stderr.1,
            spec_fd: spec.0, status_fd: status.1, cgroup_fd: cgroupFD,
            owner_uid: identity.rootHostID, owner_gid: identity.rootHostID, shed_memory: Self.shedsMemory ? 1 : 0)
        var pidfd: Int32 = -1
        let pid = corral_jail_clone(&request, &pidfd)
        childEnds.forEach { close($0) }
        if cgroupFD >= 0 { close(cgroupFD); cgroupFD = -1 }
        guard pid > 0 else {
            parentEnds.forEach { close($0) }
            cgroup?.remove()
            throw .system(call: "clone3", errno: -pid, context: "a jail with new user, PID, mount, network, IPC, UTS and cgroup namespaces")
        }
        let stub = JailStub(pid: pid, pidfd: pidfd, cgroup: cgroup, identity: identity, identities: identities,
                            fds: (stdin.1, stdout.0, stderr.0, spec.1, status.0))
        ownedByStub = true
        do throws(SandboxError) {
            let proc = "/proc/\(pid)"
            let map = identity.idMap + extraIDMap
            try Posix.writeFile(proc + "/setgroups", "deny")
            try Posix.writeFile(proc + "/gid_map", map)
            try Posix.writeFile(proc + "/uid_map", map)
            try cgroup?.place(pid: pid)
            if case .v1 = hierarchy, let group = cgroup {
                // Its total less what the group counted of it since it joined (it is alone there; both
                // read back to back): moving it in writes controller after controller, which may wait.
                let total = Self.cpuNanoseconds(pid: pid), counted = group.cpuNanoseconds()
                stub.cpuBeforeCgroupNanoseconds = total.flatMap { t in counted.map { t - min(t, $0) } }
            }
        } catch {
            stub.destroy()
            throw error
        }
        return stub
    }

    /// A process's CPU time so far (the first field of /proc/PID/schedstat: nanoseconds on a CPU,
    /// the clock cgroups count in).
    static func cpuNanoseconds(pid: pid_t) -> UInt64? {
        Posix.readFile("/proc/\(pid)/schedstat")?.split(separator: " ").first.flatMap { UInt64($0) }.flatMap { $0 > 0 ? $0 : nil }
    }

    /// Kills the jail (every process of its PID namespace dies with its init), reaps it, removes its
    /// cgroup. Its descriptors are closed unless `closingDescriptors` is false (a thread may still
    /// use them: they are then leaked, since a closed number is soon another file's).
    func destroy(closingDescriptors: Bool = true) {
        kill()
        guard reaped.withLock({ done in defer { done = true }; return !done }) else { return }
        var status: Int32 = 0
        while !isForked && waitpid(pid, &status, __WALL) < 0 && errno == EINTR {}
        if closingDescriptors { closeDescriptors() }
        cgroup?.killAll()
        cgroup?.remove()
    }

    func closeDescriptors() {
        for fd in [stdinWrite, stdoutRead, stderrRead, specWrite, statusRead, pidfd] { close(fd) }
    }

    /// Set when the run was cancelled (its caller went away, or the service stops).
    private let cancelledFlag = Mutex(false)
    var wasCancelled: Bool { cancelledFlag.withLock { $0 } }

    /// Kills the jail because its run was cancelled.
    func cancel() {
        cancelledFlag.withLock { $0 = true }
        kill()
    }

    /// SIGKILLs the init unless it was reaped already; safe from any thread.
    func kill() {
        reaped.withLock { done in
            if !done { _ = corral_pidfd_send_signal(pidfd, SIGKILL) }
        }
    }

    func markReaped() { reaped.withLock { $0 = true } }

    /// Set when a run's result was complete before its init exited: the init is reaped afterwards.
    private let reapDeferred = Mutex(false)
    func reapLater() { reapDeferred.withLock { $0 = true } }
    var isReapedLater: Bool { reapDeferred.withLock { $0 } }

    /// Runs `hook` when the last reference to this stub goes, i.e. when its run has ended.
    func onRelease(_ hook: @escaping @Sendable () -> Void) {
        releaseHook.withLock { $0 = hook }
    }

    deinit {
        // Reaped or killed by now: a stub is released only by its run's end or by `destroy()`.
        destroy()
        if let identity { identities?.release(identity) }
        releaseHook.withLock { $0 }?()
    }
}
