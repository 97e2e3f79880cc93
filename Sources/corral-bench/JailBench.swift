import CorralSandbox
import Foundation

/// `corral-bench jail`: what one jailed run costs over the bare command, next
/// to bubblewrap with the same isolation, measured in the same process run.
///
/// Modes alternate in rounds (each round runs every mode once, in a shuffled
/// order) so that machine noise and cache state hit all of them equally.
/// Before each sample the bench waits until Corral's stub pool is full again,
/// so that no sample of any mode overlaps Corral's background refill: the
/// rows give the latency of one run on a warm, otherwise idle service. The
/// `corral-b2b` row then runs Corral back to back with no pause (the pool
/// drains and refills compete with runs): the cost under sustained load.
enum JailBench {
    static let section = BenchSection(
        name: "jail",
        summary: "bare command vs bubblewrap vs Corral's jail (library API), /bin/true and python3 -c pass",
        optionsHelp: [
            "--workloads true,python   which programs to run (default both)",
            "--modes bare,bwrap,corral  which ways to run them (default all three; bare is the baseline)",
            "--pool N                  Corral's stub pool size (default: the library's default)",
            "--settle 0|1              wait for Corral's pool to refill before each sample (default 1)",
            "--back-to-back 0|1        add a corral-b2b row: Corral runs with no pause between them (default 1)",
        ],
        run: { options in try await run(options) })

    struct Workload: Sendable {
        var name: String
        var argv: [String]
    }

    static let workloads: [String: Workload] = [
        "true": Workload(name: "/bin/true", argv: ["/bin/true"]),
        "python": Workload(name: "python3 -c pass", argv: ["/usr/bin/python3", "-c", "pass"]),
    ]
    static let modes = ["bare", "bwrap", "corral"]
    static let bwrapPath = "/usr/bin/bwrap"

    static func run(_ options: BenchOptions) async throws -> BenchReport {
        try options.checkSectionOptions(known: ["workloads", "modes", "pool", "settle", "back-to-back"])
        let settle = try options.flag("settle", default: true)
        let backToBack = try options.flag("back-to-back", default: true)
        let chosenWorkloads = try options.list("workloads", allowed: ["true", "python"], default: ["true", "python"])
        let chosenModes = try options.list("modes", allowed: modes, default: modes)
        if chosenModes.contains("bwrap") && access(bwrapPath, X_OK) != 0 {
            throw BenchUsageError(message: "\(bwrapPath) is missing: run scripts/bootstrap (it installs bubblewrap)")
        }
        var configuration = Sandbox.Configuration()
        if let text = options.sectionOptions["pool"] {
            guard let size = Int(text), size >= 0 else { throw BenchUsageError(message: "--pool needs a whole number") }
            configuration.poolSize = size
        }
        let sandbox: Sandbox?
        if chosenModes.contains("corral") {
            sandbox = try Sandbox(configuration: configuration)
        } else {
            sandbox = nil
        }
        defer { sandbox?.shutdown() }

        let environment = JailSpec.baseEnvironment
        var results: [BenchResult] = []
        for key in chosenWorkloads {
            let workload = workloads[key]!
            var runners: [(mode: String, run: () async -> (Double, Bool))] = []
            for mode in chosenModes {
                switch mode {
                case "bare":
                    let env = environment.map { "\($0.key)=\($0.value)" }
                    runners.append((mode, { SpawnTimer.run(workload.argv, environment: env) }))
                case "bwrap":
                    let argv = bwrapArguments(for: workload.argv, environment: environment)
                    runners.append((mode, { SpawnTimer.run(argv, environment: []) }))
                default:
                    let spec = JailSpec(arguments: workload.argv, environment: environment)
                    runners.append((mode, { await timeCorral(sandbox!, spec) }))
                }
            }
            printError("jail: \(workload.name): \(options.warmup) warm-up + \(options.iterations) measured rounds of \(chosenModes.joined(separator: ", "))…\n")
            let settleBeforeSample: () async -> Void = {
                if settle, let sandbox { await waitForFullPool(sandbox, size: configuration.poolSize) }
            }
            let rows = await measureInRounds(runners, iterations: options.iterations, warmup: options.warmup,
                                             beforeEachSample: settleBeforeSample)
            let baseline = rows.first { $0.mode == "bare" }?.summary.p50
            for row in rows {
                results.append(BenchResult(
                    workload: workload.name, mode: row.mode, summary: row.summary,
                    baselineP50: row.mode == "bare" ? nil : baseline, failures: row.failures))
            }
            if backToBack, let sandbox {
                let spec = JailSpec(arguments: workload.argv, environment: environment)
                await waitForFullPool(sandbox, size: configuration.poolSize)
                var burst: [Double] = []
                var burstFailures = 0
                for _ in 0..<options.iterations {
                    let (ms, ok) = await timeCorral(sandbox, spec)
                    burst.append(ms)
                    if !ok { burstFailures += 1 }
                }
                results.append(BenchResult(
                    workload: workload.name, mode: "corral-b2b", summary: LatencySummary(milliseconds: burst),
                    baselineP50: baseline, failures: burstFailures))
            }
        }

        var notes = [
            "bare:   posix_spawn + waitpid of the command, stdio on /dev/null.",
            "bwrap:  \(bwrapArguments(for: ["CMD"], environment: []).joined(separator: " "))",
            "corral: Sandbox.run(JailSpec(arguments: CMD)) on one Sandbox (pool \(configuration.poolSize), seccomp \(configuration.seccomp ? "on" : "off"), cgroup \(sandbox?.cgroups.versionName ?? "-")), awaited to its RunResult.",
            "overhead = p50(mode) − p50(bare); ratio = p50(mode) / p50(bare).",
            settle ? "Rounds of bare, bwrap, corral in shuffled order; before each sample the bench waited for Corral's pool to refill (no background work overlaps a sample)."
                : "Rounds of bare, bwrap, corral in shuffled order, no pause: Corral's background refills overlap later samples of every mode.",
        ]
        if backToBack && sandbox != nil {
            notes.append("corral-b2b: \(options.iterations) Corral runs back to back after the rounds (pool drained, refills compete with runs); overhead against the rounds' bare p50.")
        }
        if options.iterations < BenchOptions.minimumIterations {
            notes.append("QUICK RUN: fewer than \(BenchOptions.minimumIterations) iterations; percentiles are rough.")
        }
        return BenchReport(section: "jail", machine: MachineInfo.current(), iterations: options.iterations,
                           warmup: options.warmup, results: results, notes: notes)
    }

    /// Warms every mode up, then runs `iterations` rounds, each running every mode once in a shuffled order.
    static func measureInRounds(
        _ runners: [(mode: String, run: () async -> (Double, Bool))],
        iterations: Int, warmup: Int, beforeEachSample: () async -> Void
    ) async -> [(mode: String, summary: LatencySummary, failures: Int)] {
        for _ in 0..<warmup {
            for runner in runners {
                await beforeEachSample()
                _ = await runner.run()
            }
        }
        var samples = Array(repeating: [Double](), count: runners.count)
        var failures = Array(repeating: 0, count: runners.count)
        for _ in 0..<iterations {
            for index in runners.indices.shuffled() {
                await beforeEachSample()
                let (ms, ok) = await runners[index].run()
                samples[index].append(ms)
                if !ok { failures[index] += 1 }
            }
        }
        return runners.indices.map { (runners[$0].mode, LatencySummary(milliseconds: samples[$0]), failures[$0]) }
    }

    /// Waits (at most 250 ms) until the sandbox's pool holds `size` stubs.
    static func waitForFullPool(_ sandbox: Sandbox, size: Int) async {
        let deadline = SpawnTimer.monotonicNanoseconds() + 250_000_000
        while sandbox.pooledJails < size && SpawnTimer.monotonicNanoseconds() < deadline {
            try? await Task.sleep(for: .microseconds(200))
        }
    }

    /// One jailed run through the library API, timed from the call to its result.
    static func timeCorral(_ sandbox: Sandbox, _ spec: JailSpec) async -> (Double, Bool) {
        let start = SpawnTimer.monotonicNanoseconds()
        let result = await sandbox.run(spec)
        let elapsed = SpawnTimer.monotonicNanoseconds() - start
        return (Double(elapsed) / 1e6, result.status == .success && result.exitCode == 0)
    }

    /// bubblewrap with the isolation Corral gives: every namespace, a read-only /usr
    /// with the host's /bin-style symlinks, fresh /proc, minimal /dev, tmpfs /tmp and workspace.
    static func bwrapArguments(for command: [String], environment: [(key: String, value: String)]) -> [String] {
        var argv = [bwrapPath, "--unshare-all", "--unshare-user", "--die-with-parent", "--new-session",
                    "--ro-bind", "/usr", "/usr"]
        for path in ["/bin", "/lib", "/lib64", "/sbin"] {
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            if st.st_mode & S_IFMT == S_IFLNK, let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) {
                argv += ["--symlink", target, path]
            } else {
                argv += ["--ro-bind", path, path]
            }
        }
        // Corral's jail sees the loader cache too (JailLayout.baseEtcPaths).
        argv += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
                 "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/workspace",
                 "--chdir", "/workspace", "--clearenv"]
        for (key, value) in environment { argv += ["--setenv", key, value] }
        return argv + ["--"] + command
    }
}
