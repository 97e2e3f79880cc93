import CorralSandbox
import Foundation
import Glibc

/// `corral-bench cli`: the one-shot command, `corral run`, as a user's shell runs it — a new
/// process each time, dynamic loading, engine start, cgroup, jail, exit — against the bare
/// program and bubblewrap with the isolation JailBench gives it. hyperfine-style: each sample
/// is fork/exec to exit on a monotonic clock, stdio on /dev/null; modes alternate in shuffled
/// rounds so that machine noise hits them alike.
enum CLIBench {
    static let section = BenchSection(
        name: "cli",
        summary: "`corral run` (a new process per run) vs bare vs bubblewrap: bash true, python -c pass; corral --version",
        optionsHelp: [
            "--workloads true,python   which programs (default both)",
            "--corral PATH             the corral binary (default: next to corral-bench)",
            "--version-row 0|1         add a `corral --version` row: process start alone (default 1)",
        ],
        iterationsMeaning: "measured rounds per workload (each runs every mode once)",
        defaultIterations: 100, minimumIterations: 50, quickIterations: 15, defaultWarmup: 5,
        run: { options in try await run(options) })

    struct Workload: Sendable {
        var name: String
        var bare: [String]
        var corralArguments: [String]
    }

    static let workloads: [String: Workload] = [
        "true": Workload(name: "bash true", bare: ["/bin/true"], corralArguments: ["run", "--lang", "bash", "-c", "true"]),
        "python": Workload(name: "python -c pass", bare: ["/usr/bin/python3", "-c", "pass"],
                           corralArguments: ["run", "--lang", "python", "-c", "pass"]),
    ]

    /// Overheads over bare, per workload, and whether Corral's is at most bubblewrap's.
    struct Comparison: Sendable, Encodable {
        var workload: String
        var bareP50Ms: Double
        var bwrapOverheadMs: Double
        var corralOverheadMs: Double
        var targetMet: Bool

        enum CodingKeys: String, CodingKey {
            case workload
            case bareP50Ms = "bare_p50_ms", bwrapOverheadMs = "bwrap_overhead_ms", corralOverheadMs = "corral_overhead_ms"
            case targetMet = "corral_overhead_at_most_bwrap"
        }
    }

    struct Details: Sendable, Encodable {
        var corralBinary: String
        var comparisons: [Comparison]
        var versionP50Ms: Double?
        /// What moving a jail into its cgroup costs on this host (`corral doctor`'s measure): on
        /// cgroup v1 without favordynmods every `corral run` waits an RCU grace period for it.
        var cgroupMove: CgroupMigrationCost

        enum CodingKeys: String, CodingKey {
            case comparisons
            case corralBinary = "corral_binary", versionP50Ms = "corral_version_p50_ms", cgroupMove = "cgroup_move"
        }
    }

    static func run(_ options: BenchOptions) async throws -> BenchReport {
        try options.checkSectionOptions(known: ["workloads", "corral", "version-row"])
        let chosen = try options.list("workloads", allowed: ["true", "python"], default: ["true", "python"])
        let versionRow = try options.flag("version-row", default: true)
        let binary = options.sectionOptions["corral"] ?? LoadBench.corralNextToBench()
        guard access(binary, X_OK) == 0 else {
            throw BenchUsageError(message: "no corral binary at \(binary): build it with `swift build -c release --product corral` (scripts/bench does), or give --corral PATH")
        }
        guard access(JailBench.bwrapPath, X_OK) == 0 else {
            throw BenchUsageError(message: "\(JailBench.bwrapPath) is missing: run scripts/bootstrap (it installs bubblewrap)")
        }
        // The same environment for every mode: what a jail gets (Corral clears the rest anyway).
        let environment = JailSpec.baseEnvironment
        let envStrings = environment.map { "\($0.key)=\($0.value)" }
        var results: [BenchResult] = []
        var comparisons: [Comparison] = []
        var failureMessages: [String] = []

        for key in chosen {
            guard let workload = workloads[key] else { continue }
            let bwrap = JailBench.bwrapArguments(for: workload.bare, environment: environment)
            let corral = [binary] + workload.corralArguments
            let runners: [(mode: String, run: () async -> (Double, Bool))] = [
                ("bare", { SpawnTimer.run(workload.bare, environment: envStrings) }),
                ("bwrap", { SpawnTimer.run(bwrap, environment: []) }),
                ("corral run", { SpawnTimer.run(corral, environment: envStrings) }),
            ]
            printError("cli: \(workload.name): \(options.warmup) warm-up + \(options.iterations) rounds of bare, bwrap, corral run…\n")
            let rows = await JailBench.measureInRounds(runners, iterations: options.iterations, warmup: options.warmup,
                                                       beforeEachSample: {})
            let bare = rows.first { $0.mode == "bare" }?.summary.p50
            for row in rows {
                results.append(BenchResult(workload: workload.name, mode: row.mode, summary: row.summary,
                                           baselineP50: row.mode == "bare" ? nil : bare, failures: row.failures))
                if row.failures > 0 {
                    failureMessages.append("\(workload.name), \(row.mode): \(row.failures) of \(options.iterations) runs did not exit 0")
                }
            }
            if let bare, let bw = rows.first(where: { $0.mode == "bwrap" })?.summary.p50,
               let co = rows.first(where: { $0.mode == "corral run" })?.summary.p50 {
                comparisons.append(Comparison(workload: workload.name, bareP50Ms: rounded(bare), bwrapOverheadMs: rounded(bw - bare),
                                              corralOverheadMs: rounded(co - bare), targetMet: co - bare <= bw - bare))
            }
        }

        var versionP50: Double?
        if versionRow {
            let argv = [binary, "--version"]
            for _ in 0..<options.warmup { _ = SpawnTimer.run(argv, environment: envStrings) }
            var samples: [Double] = []
            var failures = 0
            for _ in 0..<options.iterations {
                let (ms, ok) = SpawnTimer.run(argv, environment: envStrings)
                samples.append(ms)
                if !ok { failures += 1 }
            }
            let summary = LatencySummary(milliseconds: samples)
            versionP50 = summary.p50
            results.append(BenchResult(workload: "process start", mode: "corral --version", summary: summary, failures: failures))
        }

        let move = CgroupMigrationCost.measure(in: CgroupHierarchy.detect())
        let table = BenchTable(
            title: "overhead over bare (p50), target: corral run ≤ bubblewrap",
            header: ["workload", "bare p50 ms", "bwrap +ms", "corral run +ms", "target"],
            rows: comparisons.map {
                [$0.workload, String(format: "%.2f", $0.bareP50Ms), String(format: "%+.2f", $0.bwrapOverheadMs),
                 String(format: "%+.2f", $0.corralOverheadMs), $0.targetMet ? "met" : "NOT MET"]
            })
        var notes = [
            "Each sample: posix_spawn of the command, stdio on /dev/null, waitpid; CLOCK_MONOTONIC around it (what hyperfine -N measures).",
            "bare:       /bin/true, /usr/bin/python3 -c pass (the jail's base environment).",
            "bwrap:      \(JailBench.bwrapArguments(for: ["CMD"], environment: []).joined(separator: " ")) (JailBench's isolation).",
            "corral run: \(binary) run --lang bash -c true | --lang python -c pass (defaults: memory, pids, CPU cgroups; seccomp; history in memory).",
            "The bash row's Corral mode runs bash on a one-line script (`true`): bash's own start (~1 ms) is part of its overhead.",
            "Rounds of bare, bwrap, corral run in shuffled order, \(options.warmup) warm-up rounds first.",
        ]
        notes.append("cgroup move (corral doctor's measure): " + (move.idleMoveMs.map { String(format: "%.2f ms after an idle pause", $0) } ?? (move.note ?? "not measured"))
            + "; favordynmods in mount options: " + (move.favordynmodsMounts.isEmpty ? "none" : move.favordynmodsMounts.joined(separator: ", "))
            + (move.favordynmodsSupported ? "" : " (not supported by this kernel)")
            + ". On cgroup v1 a move waits an RCU grace period (5-20 ms, paid by every `corral run`) unless favordynmods was ever on "
            + "since boot (Linux 6.18 keeps its per-process lock until reboot); Corral never sets it (see corral doctor).")
        if versionRow { notes.append("corral --version: process start, dynamic loading and argument parsing only (no engine).") }
        if options.iterations < section.minimumIterations { notes.append("QUICK RUN: \(options.iterations) rounds; medians are rough.") }
        return BenchReport(section: section.name, machine: MachineInfo.current(), iterations: options.iterations,
                           warmup: options.warmup, results: results, notes: notes, tables: [table],
                           details: Details(corralBinary: binary, comparisons: comparisons, versionP50Ms: versionP50.map { rounded($0) }, cgroupMove: move),
                           failureMessages: failureMessages)
    }
}
