import CorralSandbox
import CorralTestSupport
import Glibc
import Testing

/// SECURITY.md abuse cases 1–4 and 6: programs that try to exhaust processes, memory,
/// CPU, time and output. Each must end with the exact limit status, leave nothing on the
/// host, and leave the service able to run the next program.
@Suite(.enabled(if: TestSupport.jailsAvailable))
struct AbuseResourceTests {
    // MARK: 1. Fork bomb

    @Test func forkFailsWithEAGAINAtThePidsLimitAndNothingIsLeft() async {
        var limits = ResourceLimits()
        limits.processes = 16
        let (result, handle) = await TestSupport.runObserved("python", #"""
        import errno, os, time
        n = 0
        while True:
            try:
                pid = os.fork()
            except OSError as e:
                print("fork", errno.errorcode[e.errno], "after", n, flush=True)
                break
            if pid == 0:
                time.sleep(300)
                os._exit(0)
            n += 1
        """#, limits: limits)
        // pids.max counts the jail's init and the program itself: 14 children fit under 16.
        #expect(result.stdout == "fork EAGAIN after 14\n")
        #expect(result.status == .success)
        #expect(result.limitExceeded == .processes)
        #expect(result.errorMessage?.contains("process limit of 16") == true)
        Abuse.expectNothingLeft(handle)
        await Abuse.expectHealthy()
    }

    @Test func bashForkBombIsContainedAndReaped() async {
        var limits = ResourceLimits()
        limits.processes = 32
        limits.timeoutSeconds = 20
        // The classic bomb keeps forking in the background while the shell waits 2 s without forking.
        // It starts in a subshell: `bomb | bomb &` run by the shell itself forks twice, and on a loaded
        // host the first child's bomb could fill the process limit before the shell's second fork,
        // which bash then retries for ~15 s and gives up on (CI saw that once: status error, no output).
        let (result, handle) = await TestSupport.runObserved("bash", """
        bomb() { bomb | bomb & }; (bomb) &
        while [ $SECONDS -lt 2 ]; do :; done
        echo alive
        """, limits: limits)
        #expect(result.status == .success)
        #expect(result.stdout == "alive\n")
        #expect(result.limitExceeded == .processes)
        Abuse.expectNothingLeft(handle)
        await Abuse.expectHealthy()
    }

    // MARK: 2. Memory bomb

    @Test func touchingPagesPastTheLimitIsKilledAsMemoryLimit() async {
        var limits = ResourceLimits()
        limits.memoryMB = 64
        let (result, handle) = await TestSupport.runObserved("python", """
        chunks = []
        while True:
            chunks.append(bytearray(b"x" * (8 << 20)))
            print(len(chunks) * 8, flush=True)
        """, limits: limits)
        #expect(result.status == .memoryLimit)
        #expect(result.limitExceeded == .memory)
        #expect(result.signal == Int(SIGKILL))
        #expect(result.errorMessage == "memory limit of 64 MB exceeded; the program was killed")
        #expect(result.memoryUsedMb <= 64.5)
        let reached = result.stdout.split(separator: "\n").compactMap { Int($0) }.max() ?? 0
        #expect(reached < 64, "the program held \(reached) MB under a 64 MB limit")
        Abuse.expectNothingLeft(handle)
        await Abuse.expectHealthy()
    }

    /// tmpfs pages belong to no process: the memory is charged to the jail's cgroup all the same,
    /// and it is the program (not the jail's init, a copy of the big service) that the OOM killer takes.
    @Test func fillingTmpfsPastTheMemoryLimitIsKilledAsMemoryLimit() async {
        var limits = ResourceLimits()
        limits.memoryMB = 32
        let (result, handle) = await TestSupport.runObserved("bash", """
        for i in 1 2 3 4 5 6 7 8; do head -c 8M /dev/zero > /dev/shm/fill$i; done
        echo finished
        """, limits: limits)
        #expect(result.status == .memoryLimit, "\(result)")
        #expect(result.limitExceeded == .memory)
        #expect(!result.stdout.contains("finished"))
        Abuse.expectNothingLeft(handle)
        await Abuse.expectHealthy()
    }

    // MARK: 3. CPU spin

    @Test func spinningIsKilledAtTheCPULimit() async {
        var limits = ResourceLimits()
        limits.cpuTimeSeconds = 1
        limits.timeoutSeconds = 30
        let (result, handle) = await TestSupport.runObserved("python", "while True: pass", limits: limits)
        #expect(result.status == .timeout)
        #expect(result.limitExceeded == .cpuTime)
        #expect(result.errorMessage == "CPU time limit of 1.0 s exceeded")
        // Bounded in CPU time, not wall time: how long 1 s of CPU takes depends on how busy the host is.
        // RLIMIT_CPU counts in scheduler ticks, the cgroup in nanoseconds: on a busy host the rlimit's
        // SIGXCPU can come when the cgroup has counted a little less than 1 s.
        #expect(result.cpuTimeMs >= 500 && result.cpuTimeMs < 3_000, "\(result.cpuTimeMs) ms of CPU under a 1 s limit")
        Abuse.expectNothingLeft(handle)
        await Abuse.expectHealthy()
    }

    /// RLIMIT_CPU is per process: four spinners would burn 4 s of CPU before each met it. The
    /// jail's CPU time (its cgroup's) is what ends them after about 1 s in all. Measured in CPU
    /// time, not wall time, which depends on how busy the host is.
    @Test func spinningAcrossProcessesIsKilledAtTheJailsCPULimit() async {
        var limits = ResourceLimits()
        limits.cpuTimeSeconds = 1
        limits.timeoutSeconds = 30
        let (result, handle) = await TestSupport.runObserved("bash", """
        for i in 1 2 3 4; do (while :; do :; done) & done
        wait
        """, limits: limits)
        #expect(result.status == .timeout)
        #expect(result.limitExceeded == .cpuTime)
        #expect(result.cpuTimeMs >= 900 && result.cpuTimeMs < 3_000, "ended after \(result.cpuTimeMs) ms of CPU: not by the jail-wide limit")
        Abuse.expectNothingLeft(handle)
        await Abuse.expectHealthy()
    }

    // MARK: 4. Sleeping forever with SIGTERM ignored

    @Test func sleepingWithSigtermIgnoredIsKilledAtTheWallLimit() async {
        var limits = ResourceLimits()
        limits.timeoutSeconds = 1
        let (result, handle) = await TestSupport.runObserved("bash", """
        trap '' TERM INT HUP QUIT USR1 USR2
        sleep 1000
        """, limits: limits)
        #expect(result.status == .timeout)
        #expect(result.limitExceeded == .wallTime)
        #expect(result.signal == Int(SIGKILL))
        #expect(result.exitCode == 128 + Int(SIGKILL))
        #expect(result.errorMessage == "wall time limit of 1.0 s exceeded")
        #expect(result.executionTimeMs >= 950 && result.executionTimeMs < 20_000)
        Abuse.expectNothingLeft(handle)
        await Abuse.expectHealthy()
    }

    // MARK: 6. Output flood

    @Test func yesIsCappedAtTheOutputLimit() async {
        var limits = ResourceLimits()
        limits.outputBytes = 64 << 10
        let (result, handle) = await TestSupport.runObserved("bash", "yes", limits: limits)
        #expect(result.status == .outputLimit)
        #expect(result.outputTruncated)
        #expect(result.limitExceeded == .output)
        // Exactly the cap is kept: the service buffers no more than the limit, however much is written.
        #expect(result.stdout.utf8.count == 64 << 10)
        #expect(result.stdout.utf8.allSatisfy { $0 == UInt8(ascii: "y") || $0 == UInt8(ascii: "\n") })
        #expect(result.errorMessage == "output exceeded 65536 bytes; the program was killed")
        Abuse.expectNothingLeft(handle)
        await Abuse.expectHealthy()
    }

    @Test func floodingBothStreamsAtOnceSharesOneCap() async {
        var limits = ResourceLimits()
        limits.outputBytes = 64 << 10
        let (result, handle) = await TestSupport.runObserved("bash", "yes err >&2 & yes out", limits: limits)
        #expect(result.status == .outputLimit)
        #expect(result.outputTruncated)
        #expect(result.stdout.utf8.count + result.stderr.utf8.count == 64 << 10)
        Abuse.expectNothingLeft(handle)
        await Abuse.expectHealthy()
    }

    @Test func oneHugeWriteIsCappedToo() async {
        var limits = ResourceLimits()
        limits.outputBytes = 1 << 20
        let (result, handle) = await TestSupport.runObserved("python", """
        import sys
        sys.stdout.buffer.write(b"z" * (64 << 20))
        """, limits: limits)
        #expect(result.status == .outputLimit)
        #expect(result.stdout.utf8.count == 1 << 20)
        Abuse.expectNothingLeft(handle)
        await Abuse.expectHealthy()
    }
}
