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
        // A warm `pass` uses 1.5-3 ms; the interpreter's start (what a cold `pass` costs) 11-18 ms here.
        // In CI, runs right after a suite that tore many jails down were charged 5-15 ms (once 6 of 12
        // runs, median 8.9 ms against a cold 11.0): this kernel has no IRQ_TIME_ACCOUNTING, so softirq
        // work (RCU callbacks freeing earlier jails' namespaces and cgroups among it) is charged to
        // whatever task it lands on. Such a burst passes; the interpreter's start charged to warm runs
        // does not: a round of 12 runs passes when most runs are charged nothing of a start (the median
        // under a third of a cold run, measured in the same round) and at most a quarter more than half
        // of one; up to three rounds, a second apart.
        var rounds: [String] = []
        for _ in 0..<3 {
            if let failure = await Self.round() { rounds.append(failure) } else { return }
            try? await Task.sleep(for: .seconds(1))
        }
        let measured = rounds.joined(separator: "\n")
        Issue.record("every round charged warm runs much of an interpreter's start:\n\(measured)")
    }

    /// One round: nil when it passes, else what it measured.
    static func round() async -> String? {
        let pools = runtime.warmPools!
        var warm: [Double] = []
        for _ in 0..<12 {
            let before = pools.snapshot()["python"]!
            let r = await runtime.run(RunRequest(language: "python", code: "pass"))
            let after = pools.snapshot()["python"]!
            #expect(r.status == .success, "\(r)")
            #expect(after.hits == before.hits + 1 && after.fallbacks == before.fallbacks, "the run was not warm: \(after)")
            warm.append(r.cpuTimeMs)
        }
        let cold = await TestSupport.runtime.run(RunRequest(language: "python", code: "pass")).cpuTimeMs
        let rounded = warm.map { ($0 * 10).rounded() / 10 }
        print("python pass on fresh warm jails, CPU ms: \(rounded); cold \(cold)")
        let heavy = warm.filter { $0 > cold / 2 }
        let median = warm.sorted()[warm.count / 2]
        guard heavy.count > warm.count / 4 || median >= cold / 3 else { return nil }
        return "warm runs \(rounded) ms (median \(median), \(heavy.count) over half of a cold start), cold \(cold) ms"
    }
}
