import Foundation

/// One row of a report: a workload measured in one mode.
struct BenchResult: Sendable, Encodable {
    var workload: String
    var mode: String
    var summary: LatencySummary
    /// The mode the overhead is measured against (nil for the baseline itself).
    var baselineP50: Double?
    /// Runs that did not end as expected (exit status not 0, setup failure).
    var failures: Int = 0

    var overheadP50: Double? { baselineP50.map { summary.p50 - $0 } }
    var ratioP50: Double? { baselineP50.map { summary.p50 / $0 } }

    enum CodingKeys: String, CodingKey {
        case workload, mode, samples, failures
        case p50 = "p50_ms", p95 = "p95_ms", p99 = "p99_ms", mean = "mean_ms", min = "min_ms", max = "max_ms"
        case overheadP50 = "overhead_p50_ms", ratioP50 = "ratio_p50"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(workload, forKey: .workload)
        try c.encode(mode, forKey: .mode)
        try c.encode(summary.count, forKey: .samples)
        try c.encode(failures, forKey: .failures)
        try c.encode(rounded(summary.p50), forKey: .p50)
        try c.encode(rounded(summary.p95), forKey: .p95)
        try c.encode(rounded(summary.p99), forKey: .p99)
        try c.encode(rounded(summary.mean), forKey: .mean)
        try c.encode(rounded(summary.min), forKey: .min)
        try c.encode(rounded(summary.max), forKey: .max)
        try c.encode(rounded(overheadP50 ?? 0), forKey: .overheadP50)
        try c.encode(rounded(ratioP50 ?? 1, places: 3), forKey: .ratioP50)
    }
}

/// `value` rounded to `places` decimals (JSON figures stay readable).
func rounded(_ value: Double, places: Double = 4) -> Double {
    let scale = Foundation.pow(10, places)
    return (value * scale).rounded() / scale
}

/// A section's own table (compile times, throughput, …), printed after the latency rows.
struct BenchTable: Sendable {
    var title: String
    var header: [String]
    var rows: [[String]]
    /// How many leading columns are text (left-aligned); the rest are figures (right-aligned).
    var textColumns = 1

    func render() -> String {
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = Swift.max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                guard i < widths.count else { return cell }
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return i < textColumns ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
        var out = title.isEmpty ? "" : title + "\n"
        out += line(header) + "\n"
        out += line(widths.map { String(repeating: "-", count: $0) }) + "\n"
        for row in rows { out += line(row) + "\n" }
        return out
    }
}

/// What one section measured, with enough about the machine to compare runs.
struct BenchReport: Sendable, Encodable {
    var section: String
    var machine: MachineInfo
    var iterations: Int
    var warmup: Int
    var date = Date()
    var results: [BenchResult]
    /// How the section measured (the exact commands, what the modes mean).
    var notes: [String] = []
    /// The section's own tables, printed after the latency rows.
    var tables: [BenchTable] = []
    /// The section's own figures, written to the JSON as `details`.
    var details: (any Encodable & Sendable)?
    /// Checks that failed (wrong results, lost history rows): each makes the run fail.
    var failureMessages: [String] = []

    var failures: Int { results.reduce(0) { $0 + $1.failures } + failureMessages.count }

    enum CodingKeys: String, CodingKey {
        case section, machine, iterations, warmup, date, results, notes, details
        case failedChecks = "failed_checks"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(section, forKey: .section)
        try c.encode(machine, forKey: .machine)
        try c.encode(iterations, forKey: .iterations)
        try c.encode(warmup, forKey: .warmup)
        try c.encode(date, forKey: .date)
        try c.encode(results, forKey: .results)
        try c.encode(notes, forKey: .notes)
        if let details { try details.encode(to: c.superEncoder(forKey: .details)) }
        try c.encode(failureMessages, forKey: .failedChecks)
    }

    func writeJSON(to path: String) throws {
        try writeBenchJSON(self, to: path)
    }

    /// A fixed-width table, one row per result, then the section's tables, notes and failures.
    func table() -> String {
        var out = "\(section): \(iterations) iterations per row after \(warmup) warm-up runs — \(machine.summary)\n"
        if !results.isEmpty {
            let header = ["workload", "mode", "p50 ms", "p95 ms", "mean ms", "min ms", "overhead p50", "ratio"]
            var rows: [[String]] = []
            for r in results {
                let s = r.summary
                rows.append([
                    r.workload, r.mode, ms(s.p50), ms(s.p95), ms(s.mean), ms(s.min),
                    r.overheadP50.map { ($0 >= 0 ? "+" : "") + ms($0) } ?? "—",
                    r.ratioP50.map { String(format: "%.2fx", $0) } ?? "—",
                ] + (r.failures > 0 ? ["\(r.failures) FAILED"] : []))
            }
            var widths = header.map(\.count)
            for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = Swift.max(widths[i], cell.count) } }
            func line(_ cells: [String]) -> String {
                cells.enumerated().map { i, cell in
                    guard i < widths.count else { return cell }
                    let pad = String(repeating: " ", count: widths[i] - cell.count)
                    return i < 2 ? cell + pad : pad + cell
                }.joined(separator: "  ")
            }
            out += line(header) + "\n"
            out += line(widths.map { String(repeating: "-", count: $0) }) + "\n"
            var previousWorkload: String?
            for (row, result) in zip(rows, results) {
                if let previous = previousWorkload, previous != result.workload { out += "\n" }
                previousWorkload = result.workload
                out += line(row) + "\n"
            }
        }
        for table in tables { out += "\n" + table.render() }
        for note in notes { out += "\n" + note }
        for failure in failureMessages { out += "\nFAILED: " + failure }
        return out
    }

    private func ms(_ value: Double) -> String { String(format: "%.3f", value) }
}

/// Every section of one `corral-bench all` run, in one JSON document.
struct BenchRun: Sendable, Encodable {
    var date = Date()
    var machine: MachineInfo
    var sections: [BenchReport]
    /// Sections that could not run at all (section → error).
    var errors: [String: String] = [:]

    var failures: Int { sections.reduce(0) { $0 + $1.failures } + errors.count }

    enum CodingKeys: String, CodingKey { case date, machine, sections, errors, failures }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(date, forKey: .date)
        try c.encode(machine, forKey: .machine)
        try c.encode(sections, forKey: .sections)
        try c.encode(errors, forKey: .errors)
        try c.encode(failures, forKey: .failures)
    }
}

func writeBenchJSON(_ value: some Encodable, to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    let directory = (path as NSString).deletingLastPathComponent
    if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
    var data = try encoder.encode(value)
    data.append(0x0a)
    try data.write(to: URL(fileURLWithPath: path))
}
