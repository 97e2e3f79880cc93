import CorralRuntimes
import CorralSandbox
import Foundation

/// `corral-bench compile-cache`: the first run of a compiled program (cold compile into
/// a fresh, private compile cache) next to the second run of the same program (a cache
/// hit, `compile.cached: true`), through the library API, for C, Rust, Go and Java.
///
/// Each repetition uses a new cache directory, so every first run compiles for real;
/// the toolchain's version probe is done once before measuring (it is cached per
/// process and is not part of compiling).
enum CompileCacheBench {
    static let languages = ["c", "rust", "go", "java"]

    /// Hello world in each language (the catalog's source file names: main.c, main.rs, main.go, Main.java).
    static let programs: [String: String] = [
        "c": "#include <stdio.h>\nint main(void) { puts(\"hello, world\"); return 0; }\n",
        "rust": "fn main() { println!(\"hello, world\"); }\n",
        "go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello, world\") }\n",
        "java": "public class Main { public static void main(String[] a) { System.out.println(\"hello, world\"); } }\n",
    ]

    static let section = BenchSection(
        name: "compile-cache",
        summary: "first run (cold compile, fresh cache) vs second run (cache hit) of hello world in C, Rust, Go, Java",
        optionsHelp: [
            "--languages c,rust,go,java  which languages (default all four)",
        ],
        iterationsMeaning: "first/second run pairs per language, each with a fresh cache",
        defaultIterations: 5, minimumIterations: 3, quickIterations: 2, defaultWarmup: 1,
        run: { options in try await run(options) })

    struct Pair: Sendable {
        var firstCompileMs: Double
        var firstTotalMs: Double
        var firstRunMs: Double
        var firstCached: Bool?
        var secondCompileMs: Double
        var secondTotalMs: Double
        var secondRunMs: Double
        var secondCached: Bool?
        var problems: [String]
    }

    struct LanguageFigures: Encodable, Sendable {
        var language: String
        var version: String
        var repetitions: Int
        var firstCompileMs: Double
        var firstTotalMs: Double
        var secondCompileMs: Double
        var secondTotalMs: Double
        var runStageMs: Double
        var secondCachedAll: Bool
        var firstCachedNone: Bool
        var speedup: Double
        var failures: Int

        enum CodingKeys: String, CodingKey {
            case language, version, repetitions, speedup, failures
            case firstCompileMs = "first_compile_ms_median", firstTotalMs = "first_total_ms_median"
            case secondCompileMs = "second_compile_ms_median", secondTotalMs = "second_total_ms_median"
            case runStageMs = "second_run_stage_ms_median"
            case secondCachedAll = "second_run_cached", firstCachedNone = "first_run_not_cached"
        }
    }

    struct Details: Encodable, Sendable {
        var languages: [LanguageFigures]
    }

    static func run(_ options: BenchOptions) async throws -> BenchReport {
        try options.checkSectionOptions(known: ["languages"])
        let chosen = try options.list("languages", allowed: languages, default: languages)
        let machine = MachineInfo.current()
        let sandbox = try Sandbox(configuration: Sandbox.Configuration())
        defer { sandbox.shutdown() }
        let versions = ToolchainVersions()
        let catalog = LanguageCatalog.shipped
        let scratch = NSTemporaryDirectory() + "corral-bench-compile-cache-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }

        var results: [BenchResult] = []
        var figures: [LanguageFigures] = []
        var failureMessages: [String] = []
        var rows: [[String]] = []
        var cacheNumber = 0
        for name in chosen {
            guard let language = catalog.language(named: name) else {
                failureMessages.append("\(name): not in the language catalog")
                continue
            }
            let info = await versions.info(of: language)
            guard info.available, let version = info.version else {
                failureMessages.append("\(name): toolchain not available (\(info.reason ?? "no version")); run scripts/bootstrap")
                continue
            }
            printError("compile-cache: \(name) (\(version)): \(options.warmup) warm-up + \(options.iterations) first/second pairs…\n")
            func pair() async -> Pair {
                cacheNumber += 1
                let root = scratch + "/\(name)-\(cacheNumber)"
                defer { try? FileManager.default.removeItem(atPath: root) }
                let runtime = Runtime(sandbox: sandbox, catalog: catalog, compileCache: CompileCache(root: root), versions: versions)
                let request = RunRequest(language: name, code: programs[name]!)
                let t0 = SpawnTimer.monotonicNanoseconds()
                let first = await runtime.run(request)
                let t1 = SpawnTimer.monotonicNanoseconds()
                let second = await runtime.run(request)
                let t2 = SpawnTimer.monotonicNanoseconds()
                var problems: [String] = []
                for (label, r) in [("first", first), ("second", second)] {
                    if r.status != .success || r.exitCode != 0 || r.stdout != "hello, world\n" {
                        let detail = r.errorMessage ?? (r.compile?.stderr ?? r.stderr)
                        problems.append("\(label) run: status \(r.status.rawValue), exit \(r.exitCode.map(String.init) ?? "-"), stdout \(r.stdout.debugDescription): \(detail.prefix(300))")
                    }
                }
                if first.compile?.cached != false { problems.append("first run: compile.cached is \(first.compile.map { "\($0.cached)" } ?? "missing") (expected false: the cache was empty)") }
                if second.compile?.cached != true { problems.append("second run: compile.cached is \(second.compile.map { "\($0.cached)" } ?? "missing") (expected true)") }
                return Pair(firstCompileMs: first.compile?.executionTimeMs ?? 0, firstTotalMs: Double(t1 - t0) / 1e6,
                            firstRunMs: first.executionTimeMs, firstCached: first.compile?.cached,
                            secondCompileMs: second.compile?.executionTimeMs ?? 0, secondTotalMs: Double(t2 - t1) / 1e6,
                            secondRunMs: second.executionTimeMs, secondCached: second.compile?.cached, problems: problems)
            }
            for _ in 0..<options.warmup { _ = await pair() }
            var pairs: [Pair] = []
            for _ in 0..<options.iterations { pairs.append(await pair()) }

            let failed = pairs.filter { !$0.problems.isEmpty }
            for p in failed.prefix(3) { failureMessages.append("\(name): " + p.problems.joined(separator: "; ")) }
            if failed.count > 3 { failureMessages.append("\(name): \(failed.count - 3) more failed pairs") }
            let firstTotals = LatencySummary(milliseconds: pairs.map(\.firstTotalMs))
            let secondTotals = LatencySummary(milliseconds: pairs.map(\.secondTotalMs))
            let firstCompile = median(pairs.map(\.firstCompileMs))
            let secondCompile = median(pairs.map(\.secondCompileMs))
            let runStage = median(pairs.map(\.secondRunMs))
            let allCached = pairs.allSatisfy { $0.secondCached == true }
            let noneCached = pairs.allSatisfy { $0.firstCached == false }
            results.append(BenchResult(workload: "\(name) hello", mode: "first (cold compile)", summary: firstTotals,
                                       failures: pairs.filter { p in p.problems.contains { $0.hasPrefix("first") } }.count))
            results.append(BenchResult(workload: "\(name) hello", mode: "second (cache hit)", summary: secondTotals,
                                       baselineP50: firstTotals.p50,
                                       failures: pairs.filter { p in p.problems.contains { $0.hasPrefix("second") } }.count))
            let fig = LanguageFigures(
                language: name, version: version, repetitions: pairs.count,
                firstCompileMs: rounded(firstCompile, places: 2), firstTotalMs: rounded(firstTotals.p50, places: 2),
                secondCompileMs: rounded(secondCompile, places: 2), secondTotalMs: rounded(secondTotals.p50, places: 2),
                runStageMs: rounded(runStage, places: 2), secondCachedAll: allCached, firstCachedNone: noneCached,
                speedup: rounded(firstTotals.p50 / secondTotals.p50, places: 2), failures: failed.count)
            figures.append(fig)
            rows.append([name, shortVersion(version), "\(pairs.count)",
                         f(firstCompile), f(firstTotals.p50), f(secondCompile), f(secondTotals.p50), f(runStage),
                         allCached ? "true" : "FALSE", String(format: "%.1fx", fig.speedup)])
        }

        let table = BenchTable(
            title: "compile cache — medians over \(options.iterations) pairs per language (ms)",
            header: ["language", "version", "pairs", "1st compile", "1st total", "2nd compile", "2nd total", "run stage",
                     "2nd cached", "1st/2nd"],
            rows: rows, textColumns: 2)
        var notes = [
            "Each pair: Runtime(sandbox:, compileCache: CompileCache(root: <new empty directory>)).run(RunRequest(language:, code: hello world)) twice.",
            "1st/2nd compile = result.compile.execution_time_ms (the compile jail's wall time; 0 on a hit); total = wall time of Runtime.run, compile + run stage; run stage = result.execution_time_ms of the 2nd run.",
            "2nd cached = compile.cached of every second run (must be true); the first runs' compile.cached must be false.",
            "Toolchain versions probed once before measuring; \(options.warmup) unmeasured pair(s) per language first (page cache).",
        ]
        if options.iterations < section.minimumIterations { notes.append("QUICK RUN: fewer than \(section.minimumIterations) pairs.") }
        return BenchReport(section: section.name, machine: machine, iterations: options.iterations, warmup: options.warmup,
                           results: results, notes: notes, tables: [table], details: Details(languages: figures),
                           failureMessages: failureMessages)
    }

    /// The first word of a version string that looks like a version number ("go1.19.8", "12.2.0-14", "1.63.0").
    static func shortVersion(_ version: String) -> String {
        let words = version.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "(" || $0 == ")" })
        let word = words.first { w in w.contains(".") && w.contains(where: \.isNumber) }
        return String((word ?? words.first ?? "?").prefix(24))
    }

    static func median(_ values: [Double]) -> Double {
        values.isEmpty ? 0 : LatencySummary(milliseconds: values).p50
    }

    static func f(_ ms: Double) -> String { String(format: "%.1f", ms) }
}
