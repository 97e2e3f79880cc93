import CCorralJail
import Glibc

/// Drives one started stub to its end: feeds the spec and stdin, collects
/// output up to the cap, enforces the wall and CPU limits, then reaps the jail
/// and turns what happened into a `RunResult`. Blocking: runs on its own thread.
struct RunSupervisor {
    let stub: JailStub
    let spec: SpecEncoder
    let limits: ResourceLimits
    let stdin: [UInt8]
    /// A warm jail's run: `spec` is its hand-off, `stdin` starts with the request its bootstrap reads
    /// and is written only once the hand-off is done; times and CPU count from the hand-off.
    var warm = false
    /// The limits the jail's cgroup holds already (a warm jail's template): only changes are written.
    var appliedLimits: ResourceLimits?
    /// Output as it comes (a streamed run).
    var onOutput: OutputSink?
    /// A fork-server's run (`Sandbox.run(_:forkingFrom:)`): the jail is set up already (no spec to
    /// write) and the run counts as begun only once its program has started.
    var forked = false
    /// CPU the group had used before the run (a fork's parked jail was made in it): not the run's.
    var cpuBaselineNanoseconds: UInt64 = 0

    init(stub: JailStub, spec: SpecEncoder, limits: ResourceLimits, stdin: [UInt8], warm: Bool = false,
         appliedLimits: ResourceLimits? = nil) {
        self.stub = stub; self.spec = spec; self.limits = limits; self.stdin = stdin; self.warm = warm
        self.appliedLimits = appliedLimits
    }

    private struct Outcome {
        var stdout: [UInt8] = [], stderr: [UInt8] = []
        var truncated = false
        var killedFor: LimitKind?
        var setupError: corral_status?
        var waitStatus: Int32?
        var startedAt: UInt64?
        var exitedAt: UInt64?
        /// When the jail's init was seen gone: the end of a run killed before its program reported an exit.
        var initEndedAt: UInt64?
        var specFailed: Int32?
        /// A cold init's own CPU when its program started (its STARTED report).
        var initCPUNanoseconds: UInt64?
        /// A warm init's CPU for the hand-off (its HANDOFF report), after the baseline was read.
        var handoffCPUNanoseconds: UInt64?
    }

    /// Reaps the jail's init if the result came before it (see the loop) and removes the jail's
    /// cgroup. Callers return the result first: the init's namespaces take an RCU grace period to
    /// tear down, and on cgroup v1 a removal can wait up to ~20 ms behind another jail's migration
    /// (see StubPool); the caller pays for neither. Every process of the jail dies with its init.
    func releaseCgroup() {
        if stub.isReapedLater {
            stub.kill()
            var usage = rusage()
            reap(&usage)
        }
        stub.cgroup?.killAll()
        stub.cgroup?.remove()
    }

    /// Waits for the jail's init and closes the run's descriptors.
    private func reap(_ usage: inout rusage) {
        var rawStatus: Int32 = 0
        while !stub.isForked && wait4(stub.pid, &rawStatus, __WALL, &usage) < 0 && errno == EINTR {}
        stub.markReaped()
        for fd in [stub.stdoutRead, stub.stderrRead, stub.statusRead, stub.pidfd] { close(fd) }
    }

    /// The result, and whether the program got its run (always, for a cold jail; for a warm one,
    /// once its hand-off was done: before that nothing of the run has happened). The jail's
    /// cgroup is left for `releaseCgroup()`.
    func runReportingHandoff() -> (RunResult, Bool) {
        let spawnedAt = Posix.monotonicNanoseconds()
        var o = Outcome()
        do throws(SandboxError) { try stub.cgroup?.apply(limits, replacing: appliedLimits) } catch {
            stub.destroy()
            return (.internalError("could not apply limits: \(error)"), false)
        }
        var cpuBaseline = cpuBaselineNanoseconds
        if warm {
            // What the waiting interpreter printed or used is not the run's.
            for fd in [stub.stdoutRead, stub.stderrRead] { discardPending(fd) }
            stub.cgroup?.resetPeakMemory()
            cpuBaseline = stub.cgroup?.cpuNanoseconds() ?? 0
        }
        if !forked {
            if !Posix.writeAll(stub.specWrite, spec.framed()) { o.specFailed = errno }
            close(stub.specWrite)
        }

        // The timeout is the program's own: counted from setup until the program starts, then from its start.
        let timeoutNs = UInt64(limits.timeoutSeconds * 1e9)
        var deadline = spawnedAt + timeoutNs
        let cpuLimitNs = UInt64(limits.effectiveCPUSeconds * 1e9)
        var stdinOffset = 0
        var stdinOpen = true
        if stdin.isEmpty { close(stub.stdinWrite); stdinOpen = false }
        var stdoutOpen = true, stderrOpen = true, statusOpen = true, initAlive = true
        var drainUntil: UInt64?
        var lastCPUCheck = spawnedAt

        func kill(for reason: LimitKind?) {
            if o.killedFor == nil { o.killedFor = reason }
            stub.kill()
        }

        while stdoutOpen || stderrOpen || statusOpen || initAlive {
            let now = Posix.monotonicNanoseconds()
            if let until = drainUntil, now >= until { break }
            // The program was reaped and its streams are closed: the result is complete. The init is
            // exiting (its namespaces' teardown waits out an RCU grace period); it is reaped after the
            // result is handed over (`releaseCgroup`). Without a cgroup, its rusage is still needed.
            if o.waitStatus != nil, !stdoutOpen, !stderrOpen, stub.cgroup != nil {
                stub.reapLater()
                break
            }
            if initAlive, now >= deadline { kill(for: .wallTime) }
            if initAlive, now - lastCPUCheck >= 100_000_000 {
                lastCPUCheck = now
                if let cpu = stub.cgroup?.usage().cpuNanoseconds, cpu - min(cpu, cpuBaseline) > cpuLimitNs { kill(for: .cpuTime) }
            }
            var fds: [pollfd] = []
            if stdoutOpen { fds.append(pollfd(fd: stub.stdoutRead, events: Int16(POLLIN), revents: 0)) }
            if stderrOpen { fds.append(pollfd(fd: stub.stderrRead, events: Int16(POLLIN), revents: 0)) }
            if statusOpen { fds.append(pollfd(fd: stub.statusRead, events: Int16(POLLIN), revents: 0)) }
            if initAlive { fds.append(pollfd(fd: stub.pidfd, events: Int16(POLLIN), revents: 0)) }
            if stdinOpen, !warm || o.startedAt != nil { fds.append(pollfd(fd: stub.stdinWrite, events: Int16(POLLOUT), revents: 0)) }
            var waitMs = initAlive ? Int32(min(100, (deadline > now ? deadline - now : 0) / 1_000_000 + 1)) : 50
            if let until = drainUntil { waitMs = Int32(min(UInt64(waitMs), (until - min(until, now)) / 1_000_000 + 1)) }
            let ready = poll(&fds, nfds_t(fds.count), waitMs)
            if ready < 0 && errno != EINTR { break }
            for p in fds where p.revents != 0 {
                switch p.fd {
                case stub.stdoutRead:
                    stdoutOpen = drain(p.fd, isStdout: true, outcome: &o)
                    if o.truncated { kill(for: .output) }
                case stub.stderrRead:
                    stderrOpen = drain(p.fd, isStdout: false, outcome: &o)
                    if o.truncated { kill(for: .output) }
                case stub.statusRead:
                    let wasStarted = o.startedAt != nil
                    statusOpen = readStatus(&o)
                    // Once, when the run starts (later reads bring its exit).
                    if !wasStarted, let started = o.startedAt {
                        deadline = started + timeoutNs
                        // A cold jail's cgroup holds its init's setup (mounts, files, shedding the service's
                        // heap), which is not the program's CPU: what the init used in the cgroup is left out.
                        if !warm, !forked, let initCPU = o.initCPUNanoseconds, let before = stub.cpuBeforeCgroupNanoseconds {
                            cpuBaseline = initCPU - min(initCPU, before)
                        }
                        if warm, let handoff = o.handoffCPUNanoseconds { cpuBaseline += handoff }
                        // A fork's init and program report what they spent on the run's set-up
                        // after the host's baseline (its files, descriptors, rlimits, filter).
                        if forked, let setup = o.initCPUNanoseconds { cpuBaseline += setup }
                    }
                case stub.pidfd:
                    initAlive = false
                    o.initEndedAt = Posix.monotonicNanoseconds()
                    // The init is gone, so is every process of the jail: what remains in the pipes is all there is.
                    drainUntil = Posix.monotonicNanoseconds() + 500_000_000
                case stub.stdinWrite:
                    if p.revents & Int16(POLLOUT) != 0 {
                        let n = stdin.withUnsafeBytes { write(p.fd, $0.baseAddress! + stdinOffset, $0.count - stdinOffset) }
                        if n > 0 { stdinOffset += n }
                        if (n < 0 && errno != EAGAIN && errno != EINTR) || stdinOffset == stdin.count {
                            close(p.fd); stdinOpen = false
                        }
                    } else {
                        close(p.fd); stdinOpen = false
                    }
                default: break
                }
            }
        }
        if stdinOpen { close(stub.stdinWrite) }

        var usage = rusage()
        if !stub.isReapedLater { reap(&usage) }
        var cg = stub.cgroup?.usage()
        if let cpu = cg?.cpuNanoseconds { cg?.cpuNanoseconds = cpu - min(cpu, cpuBaseline) }
        return (result(o, usage: usage, cgroup: cg, spawnedAt: spawnedAt), !(warm || forked) || o.startedAt != nil)
    }

    /// Reads and drops what a pipe holds now (non-blocking read ends).
    private func discardPending(_ fd: Int32) {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while chunk.withUnsafeMutableBytes({ read(fd, $0.baseAddress, $0.count) }) > 0 {}
    }

    /// Reads what is available, keeping output up to the cap; returns false at EOF.
    /// Sets `truncated` past the cap and leaves the kill to the caller: a closure that
    /// captures the outcome must not run while `o` is borrowed inout (exclusivity trap).
    private func drain(_ fd: Int32, isStdout: Bool, outcome o: inout Outcome) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n == 0 { return false }
            if n < 0 { return errno == EAGAIN || errno == EINTR }
            let room = max(0, limits.outputBytes - o.stdout.count - o.stderr.count)
            if isStdout { o.stdout += chunk[0..<min(n, room)] } else { o.stderr += chunk[0..<min(n, room)] }
            if let onOutput, min(n, room) > 0 { onOutput(isStdout ? "stdout" : "stderr", Array(chunk[0..<min(n, room)])) }
            if n > room {
                o.truncated = true
                return true
            }
        }
    }

    private func readStatus(_ o: inout Outcome) -> Bool {
        var message = corral_status()
        while true {
            let n = withUnsafeMutableBytes(of: &message) { read(stub.statusRead, $0.baseAddress, $0.count) }
            if n == 0 { return false }
            if n < 0 { return errno == EAGAIN || errno == EINTR }
            guard n == MemoryLayout<corral_status>.size else { continue }
            switch Int(message.kind) {
            case Int(CORRAL_STATUS_SETUP_ERROR.rawValue): if o.setupError == nil { o.setupError = message }
            // Times are the init's, taken where the events happen (right before the program's execve,
            // right after reaping it), not when this loop gets round to reading them.
            case Int(CORRAL_STATUS_STARTED.rawValue):
                if !warm {
                    o.startedAt = Self.eventTime(message)
                    o.initCPUNanoseconds = UInt64(max(0, message.init_cpu_us)) * 1000
                }
            // A warm jail's program started long ago, as the template's; the run starts at its hand-off.
            case Int(CORRAL_STATUS_HANDOFF.rawValue):
                if warm {
                    o.startedAt = Self.eventTime(message)
                    o.handoffCPUNanoseconds = UInt64(max(0, message.init_cpu_us)) * 1000
                }
            case Int(CORRAL_STATUS_EXITED.rawValue):
                o.waitStatus = message.wait_status
                o.exitedAt = Self.eventTime(message)
            default: break
            }
        }
    }

    /// The event's CLOCK_MONOTONIC stamp from the jail (the same clock as the host's: no time namespace).
    /// A missing or future stamp cannot come from a correct init; the host's own reading bounds it.
    private static func eventTime(_ message: corral_status) -> UInt64 {
        let now = Posix.monotonicNanoseconds()
        guard message.monotonic_ns > 0 else { return now }
        return min(UInt64(message.monotonic_ns), now)
    }

    private func result(_ o: Outcome, usage: rusage, cgroup: JailCgroup.Usage?, spawnedAt: UInt64) -> RunResult {
        let end = o.exitedAt ?? o.initEndedAt ?? Posix.monotonicNanoseconds()
        let start = o.startedAt ?? spawnedAt
        var r = RunResult(status: .success)
        r.stdout = String(decoding: o.stdout, as: UTF8.self)
        r.stderr = String(decoding: o.stderr, as: UTF8.self)
        r.outputTruncated = o.truncated
        r.executionTimeMs = Double(end - min(start, end)) / 1e6
        let rusageCPU = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e3
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e3
        // Without a cgroup's count, the init's rusage, which holds its own setup: left out for a cold run.
        let initCPUMs = !warm && !forked ? Double(o.initCPUNanoseconds ?? 0) / 1e6 : 0
        r.cpuTimeMs = cgroup?.cpuNanoseconds.map { Double($0) / 1e6 } ?? max(0, rusageCPU - initCPUMs)
        r.memoryUsedMb = Double(cgroup?.peakMemoryBytes ?? UInt64(usage.ru_maxrss) * 1024) / 1_048_576

        if let failure = o.setupError {
            r.status = .internalError
            r.errorMessage = describe(failure)
            return r
        }
        if let e = o.specFailed, o.waitStatus == nil {
            r.status = .internalError
            r.errorMessage = "could not hand the spec to the jail: \(String(cString: strerror(e)))"
            return r
        }
        if let status = o.waitStatus {
            if status & 0x7f == 0 {
                r.exitCode = Int((status >> 8) & 0xff)
            } else {
                r.signal = Int(status & 0x7f)
                r.exitCode = 128 + Int(status & 0x7f)
            }
        } else if stub.wasCancelled {
            r.status = .killed
            r.signal = Int(SIGKILL); r.exitCode = 128 + Int(SIGKILL)
            r.errorMessage = "cancelled: the caller went away or the service is shutting down; the jail was killed"
            return r
        } else if o.killedFor == nil && (cgroup?.oomKills ?? 0) == 0 {
            r.status = .internalError
            r.errorMessage = "the jail ended before its program reported an exit status"
            return r
        } else {
            // Killed by Corral, or the OOM killer took the init too (tmpfs pages outlive the program).
            r.signal = Int(SIGKILL); r.exitCode = 128 + Int(SIGKILL)
        }
        if (cgroup?.pidsLimitHits ?? 0) > 0 { r.limitExceeded = .processes }

        if let reason = o.killedFor {
            r.limitExceeded = reason
            switch reason {
            case .output:
                r.status = .outputLimit
                r.errorMessage = "output exceeded \(limits.outputBytes) bytes; the program was killed"
            case .wallTime:
                r.status = .timeout
                r.errorMessage = "wall time limit of \(limits.timeoutSeconds) s exceeded"
            case .cpuTime:
                r.status = .timeout
                r.errorMessage = "CPU time limit of \(limits.effectiveCPUSeconds) s exceeded"
            default:
                r.status = .killed
                r.errorMessage = "killed: the \(reason.rawValue) limit was reached"
            }
        } else if (cgroup?.oomKills ?? 0) > 0 {
            r.status = .memoryLimit
            r.limitExceeded = .memory
            r.errorMessage = "memory limit of \(limits.memoryMB) MB exceeded; the program was killed"
        } else if r.signal == Int(SIGXCPU) || (r.signal == Int(SIGKILL) && r.cpuTimeMs >= limits.effectiveCPUSeconds * 1000) {
            r.status = .timeout
            r.limitExceeded = .cpuTime
            r.errorMessage = "CPU time limit of \(limits.effectiveCPUSeconds) s exceeded"
        } else if r.signal == Int(SIGXFSZ) {
            r.status = .killed
            r.limitExceeded = .fileSize
            r.errorMessage = "file size limit of \(limits.fileSizeMB) MB exceeded"
        } else if let signal = r.signal {
            r.status = .killed
            r.errorMessage = "killed by signal \(signal) (\(String(cString: strsignal(Int32(signal)))))"
        } else if r.exitCode != 0 {
            r.status = .error
            r.errorMessage = "exited with code \(r.exitCode.map(String.init) ?? "unknown")"
        }
        if r.limitExceeded == .processes, r.errorMessage == nil || r.status == .error {
            r.errorMessage = "process limit of \(limits.processes) reached: fork/clone failed inside the sandbox"
        }
        return r
    }

    private func describe(_ s: corral_status) -> String {
        let step: String
        switch Int(s.step) {
        case Int(CORRAL_STEP_OP.rawValue):
            let index = Int(s.op)
            step = index >= 0 && index < spec.descriptions.count ? spec.descriptions[index] : "operation \(index)"
        case Int(CORRAL_STEP_EXEC.rawValue):
            let cmd = spec.descriptions.last ?? "exec"
            if s.error == ENOENT { return "\(cmd): command not found in the sandbox" }
            step = cmd
        case Int(CORRAL_STEP_SECCOMP.rawValue): step = "installing the seccomp filter"
        case Int(CORRAL_STEP_DROP_PRIVILEGES.rawValue): step = "dropping privileges"
        case Int(CORRAL_STEP_RLIMIT.rawValue): step = "setting rlimits"
        case Int(CORRAL_STEP_FORK.rawValue): step = "forking the program"
        case Int(CORRAL_STEP_SCRUB.rawValue): step = "scrubbing the init's inherited arguments"
        case Int(CORRAL_STEP_SHED.rawValue): step = "unmapping the service's memory the init inherited"
        case Int(CORRAL_STEP_CGROUP_NAMESPACE.rawValue): step = "entering a new cgroup namespace"
        case Int(CORRAL_STEP_HANDOFF.rawValue):
            let index = Int(s.op)
            step = index >= 0 && index < spec.descriptions.count ? "hand-off: " + spec.descriptions[index] : "waiting for the hand-off"
        default: step = "setup step \(s.step)"
        }
        return SandboxError.setup(step: step, errno: s.error).description
    }
}
