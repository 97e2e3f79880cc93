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

    @Test("a Python `pass` on a jail taken as soon as it is ready is charged none of the interpreter's start")
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
        // A warm `pass` uses 1-3 ms; the interpreter's start (what a cold `pass` costs) is 8-20 ms here.
        for cpu in warm { #expect(cpu < cold / 2, "a warm run was charged \(cpu) ms of CPU; a cold one uses \(cold) ms") }
    }
}
