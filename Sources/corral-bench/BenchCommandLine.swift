import Foundation
import Glibc

/// Parses the command line, runs the chosen section (or every section), prints and writes its report.
enum BenchCommandLine {
    /// With no section named, every section runs in turn and one JSON document holds them all.
    static let allSections = "all"
    static let defaultSection = allSections

    static func main(_ arguments: [String]) async -> Int32 {
        var arguments = arguments
        if arguments.first == "help" || arguments.contains("--help") || arguments.contains("-h") {
            print(usage)
            return 0
        }
        let sectionName = arguments.first.map { $0.hasPrefix("-") ? defaultSection : $0 } ?? defaultSection
        if let first = arguments.first, !first.hasPrefix("-") { arguments.removeFirst() }
        if sectionName == allSections { return await runAll(arguments) }
        guard let section = BenchSections.all.first(where: { $0.name == sectionName }) else {
            printError("corral-bench: unknown section '\(sectionName)'; sections: \(([allSections] + BenchSections.all.map(\.name)).joined(separator: ", "))\n")
            return 64
        }
        let options: BenchOptions
        do throws(BenchUsageError) { options = try BenchOptions.parse(arguments, for: section) } catch {
            printError("corral-bench: \(error.message)\n")
            return 64
        }
        let report: BenchReport
        do {
            report = try await section.run(options)
        } catch let error as BenchUsageError {
            printError("corral-bench: \(error.message)\n")
            return 64
        } catch {
            printError("corral-bench: \(section.name) failed: \(error)\n")
            return 1
        }
        print(report.table())
        fflush(nil)
        if let path = options.jsonPath {
            do {
                try report.writeJSON(to: path)
                print("wrote \(path)")
            } catch {
                printError("corral-bench: could not write \(path): \(error)\n")
                return 1
            }
        }
        return report.failures > 0 ? 1 : 0
    }

    /// `corral-bench [all] [--json PATH] [--quick]`: every section with its defaults, one after the other.
    static func runAll(_ arguments: [String]) async -> Int32 {
        var jsonPath: String?
        var quick = false
        var index = 0
        while index < arguments.count {
            switch arguments[index] {
            case "--json":
                index += 1
                guard index < arguments.count else { printError("corral-bench: --json needs a value\n"); return 64 }
                jsonPath = arguments[index]
            case "--quick": quick = true
            default:
                printError("corral-bench: '\(arguments[index])' is not an option of a full run (only --json, --quick); name a section to pass it options\n")
                return 64
            }
            index += 1
        }
        var run = BenchRun(machine: MachineInfo.current(), sections: [])
        for section in BenchSections.all {
            var options = BenchOptions()
            options.iterations = quick ? section.quickIterations : section.defaultIterations
            options.warmup = section.defaultWarmup
            options.allowFewIterations = quick
            printError("corral-bench: section \(section.name) (\(options.iterations) iterations)\n")
            do {
                let report = try await section.run(options)
                print(report.table())
                print("")
                fflush(nil) // keep the tables in order with the progress lines on stderr
                run.sections.append(report)
            } catch {
                let message = (error as? BenchUsageError)?.message ?? "\(error)"
                printError("corral-bench: \(section.name) failed: \(message)\n")
                print("\(section.name): FAILED: \(message)\n")
                fflush(nil)
                run.errors[section.name] = message
            }
        }
        print("corral-bench: \(run.sections.count) of \(BenchSections.all.count) sections ran; \(run.failures) failure(s)")
        if let path = jsonPath {
            do {
                try writeBenchJSON(run, to: path)
                print("wrote \(path)")
            } catch {
                printError("corral-bench: could not write \(path): \(error)\n")
                return 1
            }
        }
        return run.failures > 0 ? 1 : 0
    }

    static var usage: String {
        var text = """
        usage: corral-bench [SECTION] [--iterations N] [--warmup N] [--json PATH] [section options]
               corral-bench [all] [--json PATH] [--quick]

        With no section (or `all`), every section runs with its defaults and --json writes one
        document holding all of them ({"sections": [...]}).

        Common options (one section):
          --iterations N   measured iterations (each section's meaning and default below)
          --warmup N       unmeasured runs before measuring
          --json PATH      also write the report as JSON
          --quick          allow fewer iterations than the section's minimum (a rough check)

        Sections:
        """
        for section in BenchSections.all {
            text += "\n  \(section.name.padding(toLength: 16, withPad: " ", startingAt: 0)) \(section.summary)"
            text += "\n      iterations: \(section.iterationsMeaning) (default \(section.defaultIterations), at least \(section.minimumIterations); warm-up default \(section.defaultWarmup))"
            for line in section.optionsHelp { text += "\n      \(line)" }
        }
        return text
    }
}

/// A benchmark section: one subcommand, one file.
struct BenchSection: Sendable {
    var name: String
    var summary: String
    /// Lines describing the section's own options (`--name VALUE  what`).
    var optionsHelp: [String] = []
    /// What `--iterations` counts in this section.
    var iterationsMeaning = "measured runs per row"
    var defaultIterations = 300
    var minimumIterations = 200
    /// Iterations of a `--quick` full run.
    var quickIterations = 20
    var defaultWarmup = 20
    var run: @Sendable (BenchOptions) async throws -> BenchReport
}

/// Every section the tool knows, in the order a full run takes them. Add yours here.
enum BenchSections {
    static let all: [BenchSection] = [
        JailBench.section,
        CompileCacheBench.section,
        ValidateBench.section,
        LoadBench.section,
        CLIBench.section,
        HTTPLatencyBench.section,
        SessionsBench.section,
        TasksBench.section,
        DesktopBench.section,
        FleetBench.section,
        HTTPThroughputBench.section,
    ]
}

struct BenchUsageError: Error, Sendable {
    var message: String
}

/// Options common to every section, plus the ones only a section understands.
struct BenchOptions: Sendable {
    static let defaultIterations = 300
    static let minimumIterations = 200
    static let defaultWarmup = 20

    var iterations = defaultIterations
    var warmup = defaultWarmup
    var jsonPath: String?
    /// `--name value` options the common parser does not know, for the section to read.
    var sectionOptions: [String: String] = [:]
    /// Allows fewer than `minimumIterations` (quick checks; the report says so).
    var allowFewIterations = false

    static func parse(_ arguments: [String], for section: BenchSection) throws(BenchUsageError) -> BenchOptions {
        var options = BenchOptions()
        options.iterations = section.defaultIterations
        options.warmup = section.defaultWarmup
        var index = 0
        func value(_ flag: String) throws(BenchUsageError) -> String {
            index += 1
            guard index < arguments.count else { throw BenchUsageError(message: "\(flag) needs a value") }
            return arguments[index]
        }
        func count(_ flag: String) throws(BenchUsageError) -> Int {
            let text = try value(flag)
            guard let n = Int(text), n >= 0 else { throw BenchUsageError(message: "\(flag) needs a whole number, not '\(text)'") }
            return n
        }
        while index < arguments.count {
            let argument = arguments[index]
            switch argument {
            case "--iterations", "-n": options.iterations = try count(argument)
            case "--warmup": options.warmup = try count(argument)
            case "--json": options.jsonPath = try value(argument)
            case "--quick": options.allowFewIterations = true
            default:
                guard argument.hasPrefix("--"), argument.count > 2 else {
                    throw BenchUsageError(message: "unexpected argument '\(argument)' (see --help)")
                }
                options.sectionOptions[String(argument.dropFirst(2))] = try value(argument)
            }
            index += 1
        }
        if options.iterations < section.minimumIterations && !options.allowFewIterations {
            throw BenchUsageError(message: "\(section.name): --iterations must be at least \(section.minimumIterations) (add --quick for a rough check)")
        }
        if options.iterations == 0 { throw BenchUsageError(message: "--iterations must be positive") }
        return options
    }

    /// A section option as a comma-separated list, checked against the allowed values.
    func list(_ name: String, allowed: [String], default fallback: [String]) throws(BenchUsageError) -> [String] {
        guard let text = sectionOptions[name] else { return fallback }
        let items = text.split(separator: ",").map { String($0) }
        for item in items where !allowed.contains(item) {
            throw BenchUsageError(message: "--\(name): unknown value '\(item)'; allowed: \(allowed.joined(separator: ", "))")
        }
        return items
    }

    /// A section option that is `0`/`1` (or `no`/`yes`).
    func flag(_ name: String, default fallback: Bool) throws(BenchUsageError) -> Bool {
        switch sectionOptions[name] {
        case nil: return fallback
        case "1", "yes", "true": return true
        case "0", "no", "false": return false
        case let other?: throw BenchUsageError(message: "--\(name) takes 0 or 1, not '\(other)'")
        }
    }

    /// Rejects section options the section does not know.
    func checkSectionOptions(known: [String]) throws(BenchUsageError) {
        for name in sectionOptions.keys.sorted() where !known.contains(name) {
            throw BenchUsageError(message: "unknown option --\(name) (see --help)")
        }
    }
}

/// Writes progress and errors to standard error, unbuffered.
func printError(_ text: String) {
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
        if n <= 0 { break }
        offset += n
    }
}
