/// A strict parser of the Prometheus text exposition format (0.0.4), enough to
/// prove `/metrics` is well formed: HELP/TYPE lines, sample lines with labels,
/// histogram bucket monotonicity and `+Inf` == `_count`.
enum PrometheusTextParser {
    struct Sample { var name: String; var labels: [String: String]; var value: Double }
    struct Family { var type: String?; var samples: [Sample] = [] }
    struct ParseError: Error, CustomStringConvertible { var description: String }

    static func parse(_ text: String) throws -> [String: Family] {
        var families: [String: Family] = [:]
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw)
            if line.isEmpty { continue }
            if line.hasPrefix("# HELP ") { continue }
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else {
                    throw ParseError(description: "line \(number + 1): bad TYPE: \(line)")
                }
                families[String(parts[2]), default: Family()].type = String(parts[3])
                continue
            }
            if line.hasPrefix("#") { continue }
            let sample = try parseSample(line, number: number + 1)
            let family = ["_bucket", "_sum", "_count"].first { sample.name.hasSuffix($0) && families[String(sample.name.dropLast($0.count))]?.type == "histogram" }
                .map { String(sample.name.dropLast($0.count)) } ?? sample.name
            guard families[family]?.type != nil else { throw ParseError(description: "line \(number + 1): sample before its TYPE: \(line)") }
            families[family]!.samples.append(sample)
        }
        for (name, family) in families where family.type == "histogram" {
            var byLabels: [String: [(Double, Double)]] = [:]
            var counts: [String: Double] = [:]
            for s in family.samples {
                var labels = s.labels
                let le = labels.removeValue(forKey: "le")
                let key = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
                if s.name.hasSuffix("_bucket") {
                    guard let le, let bound = le == "+Inf" ? Double.infinity : Double(le) else { throw ParseError(description: "\(name): bucket without le") }
                    byLabels[key, default: []].append((bound, s.value))
                }
                if s.name.hasSuffix("_count") { counts[key] = s.value }
            }
            for (key, buckets) in byLabels {
                let sorted = buckets.sorted { $0.0 < $1.0 }
                for i in 1..<sorted.count where sorted[i].1 < sorted[i - 1].1 { throw ParseError(description: "\(name){\(key)}: buckets not cumulative") }
                guard sorted.last?.0 == .infinity, sorted.last?.1 == counts[key] else { throw ParseError(description: "\(name){\(key)}: +Inf != _count") }
            }
        }
        return families
    }

    static func parseSample(_ line: String, number: Int) throws -> Sample {
        var rest = Substring(line)
        let nameEnd = rest.firstIndex { $0 == "{" || $0 == " " } ?? rest.endIndex
        let name = String(rest[..<nameEnd])
        guard let first = name.first, first.isLetter || first == "_" || first == ":",
              name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }) else {
            throw ParseError(description: "line \(number): bad metric name '\(name)'")
        }
        rest = rest[nameEnd...]
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                guard let eq = rest.firstIndex(of: "=") else { throw ParseError(description: "line \(number): bad label") }
                let key = String(rest[..<eq])
                rest = rest[rest.index(after: eq)...]
                guard rest.first == "\"" else { throw ParseError(description: "line \(number): label value not quoted") }
                rest = rest.dropFirst()
                var value = ""
                while let c = rest.first, c != "\"" {
                    if c == "\\" { rest = rest.dropFirst(); value.append(rest.first == "n" ? "\n" : rest.first ?? "\\") } else { value.append(c) }
                    rest = rest.dropFirst()
                }
                guard rest.first == "\"" else { throw ParseError(description: "line \(number): unterminated label value") }
                rest = rest.dropFirst()
                labels[key] = value
                if rest.first == "," { rest = rest.dropFirst() }
                guard !rest.isEmpty else { throw ParseError(description: "line \(number): unterminated labels") }
            }
            rest = rest.dropFirst()
        }
        let fields = rest.split(separator: " ")
        guard (1...2).contains(fields.count), let value = Double(fields[0]) ?? (fields[0] == "+Inf" ? .infinity : nil) else {
            throw ParseError(description: "line \(number): bad value in '\(line)'")
        }
        return Sample(name: name, labels: labels, value: value)
    }
}
