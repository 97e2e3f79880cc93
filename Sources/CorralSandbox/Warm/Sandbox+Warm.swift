import Foundation
import Glibc

extension Sandbox {
    /// Starts `template`'s program in a fresh jail and leaves it waiting for one run: the jail of a
    /// warm pool. The program is a language's bootstrap, which starts its interpreter and then reads
    /// its request (`WarmRequestFrame`) from stdin. Same layout, filter, uid and cgroup as a cold jail.
    public func prestart(_ template: JailSpec) async throws(SandboxError) -> WarmJail {
        try template.limits.validate()
        guard !template.network else { throw .invalidRequest("a warm jail has no network (its stack is set up per run)") }
        var layout = JailLayout(stagingRoot: configuration.stagingRoot, programID: JailIdentity.programID, seccompProgram: seccompProgram)
        layout.rlimitFallback = cgroups.isUnavailable
        let encoded = try layout.encode(template, warm: true)
        let stub = try await pool.acquire()
        do throws(SandboxError) { try stub.cgroup?.apply(template.limits) } catch {
            stub.destroy()
            throw error
        }
        if !Posix.writeAll(stub.specWrite, encoded.framed()) {
            let e = errno
            stub.destroy()
            throw .system(call: "write", errno: e, context: "the warm jail's spec")
        }
        // The program says it waits with one byte on stdout; until then its interpreter still starts.
        let ready = try await Self.onOwnThread { () throws(SandboxError) -> Bool in
            Self.awaitReadyByte(stub.stdoutRead, stub.pidfd, timeoutMs: Int32(Self.warmStartTimeoutMs))
        }
        guard ready else {
            stub.destroy()
            throw .invalidRequest("the warm jail's program did not report that it waits for a run within "
                + "\(Self.warmStartTimeoutMs) ms (it failed to start, or its bootstrap is wrong)")
        }
        return WarmJail(stub: stub, templateLimits: template.limits)
    }

    /// How long a warm jail's interpreter may take to start.
    static let warmStartTimeoutMs = 15_000

    /// Waits for the program's ready byte (true), or its end or the timeout (false).
    static func awaitReadyByte(_ stdout: Int32, _ pidfd: Int32, timeoutMs: Int32) -> Bool {
        let deadline = Posix.monotonicNanoseconds() + UInt64(timeoutMs) * 1_000_000
        while true {
            let now = Posix.monotonicNanoseconds()
            guard now < deadline else { return false }
            var fds = [pollfd(fd: stdout, events: Int16(POLLIN), revents: 0), pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)]
            let n = poll(&fds, 2, Int32((deadline - now) / 1_000_000) + 1)
            if n < 0 && errno == EINTR { continue }
            guard n > 0, fds[1].revents == 0 else { return false }
            var byte: UInt8 = 1
            let got = read(stdout, &byte, 1)
            if got == 1 { return byte == 0 }
            if got == 0 || (errno != EAGAIN && errno != EINTR) { return false }
        }
    }

    /// Runs `run` in `jail`, which it consumes. `.fellBack` when the jail failed before its program
    /// got the run (it died waiting, or the hand-off failed): nothing of the run happened, and the
    /// caller runs it on a cold jail. Otherwise the result is exact as a cold run's, with times and
    /// CPU counted from the hand-off.
    public func run(_ run: WarmRun, in jail: WarmJail, started: (@Sendable (JailHandle) -> Void)? = nil) async -> WarmOutcome {
        do throws(SandboxError) { try run.limits.validate() } catch {
            return .ran(.internalError(error.description))
        }
        guard jail.isAlive else { return .fellBack(reason: "the warm jail died while it waited") }
        var layout = JailLayout(stagingRoot: configuration.stagingRoot, programID: JailIdentity.programID, seccompProgram: seccompProgram)
        layout.rlimitFallback = cgroups.isUnavailable
        let handoff: SpecEncoder
        do throws(SandboxError) { handoff = try layout.encodeHandoff(run) } catch {
            return .ran(.internalError(error.description))
        }
        let stub = jail.stub
        started?(JailHandle(stub, warm: true))
        startedCount.withLock { $0 += 1 }
        var supervisor = RunSupervisor(stub: stub, spec: handoff, limits: run.limits, stdin: run.request + run.stdin, warm: true,
                                       appliedLimits: jail.templateLimits)
        supervisor.onOutput = run.onOutput
        let (result, handedOff) = await supervise(supervisor, threadName: "corral-warm-\(stub.pid)")
        guard handedOff else {
            return .fellBack(reason: result.errorMessage ?? "the hand-off failed (\(result.status.rawValue))")
        }
        var final = result
        if !degradations.isEmpty { final.degraded = degradations }
        return .ran(final)
    }
}
