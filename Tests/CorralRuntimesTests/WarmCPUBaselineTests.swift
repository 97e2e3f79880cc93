import CorralRuntimes
import CorralSandbox
import CorralTestSupport
import Testing

/// A warm run's CPU is counted from its hand-off: the interpreter's start is not the run's, even when
/// the run takes its jail the instant the interpreter says it waits (it may still be on a CPU then,
/// its last few milliseconds not yet charged to its cgroup).
@Suite(.serialized, .enabled(if: TestSupport.jailsAvailable))
struct WarmCPUBaselineTests {
    /// One jail per language, and every run waits for it: each run takes a jail that just became ready.
    static let runtime: Runtime = {
        var settings = WarmPoolSettings()
        settings.maxPerLanguage = 1
        settings.prewarm = ["python"]
        settings.idleSeconds = 3600
        settings.waitForJailSeconds = 60
        settings.forkServers = []
        return Runtime(sandbox: TestSupport.sandbox, warmPools: settings)
    }()

    @Test("a Python `pass` on jails taken as soon as they are ready: most runs are charged none of the interpreter's start")
    func freshJailCPU() async {
        let pools = Self.runtime.warmPools!
        var warm: [Double] = []
        for _ in 0..<12 {
            let before = pools.snapshot()["python"]!
            let r = await Self.runtime.run(RunRequest(language: "python", code: "pass"))
            let after = pools.snapshot()["python"]!
            #expect(r.status == .success, "\(r)")
            #expect(after.hits == before.hits + 1 && after.fallbacks == before.fallbacks, "the run was not warm: \(after)")
            warm.append(r.cpuTimeMs)
        }
        let cold = await TestSupport.runtime.run(RunRequest(language: "python", code: "pass")).cpuTimeMs
        print("python pass on fresh warm jails, CPU ms: \(warm.map { ($0 * 10).rounded() / 10 }); cold \(cold)")
        // A warm `pass` uses 1.5-3 ms; the interpreter's start (what a cold `pass` costs) 13-18 ms here. In
        // CI single warm runs were charged 5-8 ms (4 of 12, the others 1.5-2 ms); not explained yet. A lead:
        // this kernel has no IRQ_TIME_ACCOUNTING, so interrupt and softirq work (RCU callbacks of earlier
        // jails' teardown among it) is charged to whatever task it lands on. One CI run later charged the
        // first of 12 runs 12.3 ms against a cold 11.6 ([12.3, 1.5, 4.8, 1.5, 1.4, 1.3, 4.0, 1.6, 5.8, 1.7,
        // 1.4, 1.4]), so no single run is bounded: most runs must be charged nothing of a start (the
        // median under a third of it) and at most a quarter of them more than half of one.
        let heavy = warm.filter { $0 > cold / 2 }
        #expect(heavy.count <= warm.count / 4, "warm runs charged more than half a cold start (\(cold) ms): \(heavy)")
        let median = warm.sorted()[warm.count / 2]
        #expect(median < cold / 3, "warm runs' median CPU \(median) ms; a cold run uses \(cold) ms")
    }
}
