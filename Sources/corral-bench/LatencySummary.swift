/// Order statistics of one series of wall-clock samples, in milliseconds.
struct LatencySummary: Sendable {
    var count: Int
    var p50: Double
    var p95: Double
    var p99: Double
    var mean: Double
    var min: Double
    var max: Double

    /// Percentiles interpolate linearly between the closest ranks (numpy's default).
    init(milliseconds samples: [Double]) {
        precondition(!samples.isEmpty, "a summary needs at least one sample")
        let sorted = samples.sorted()
        func percentile(_ p: Double) -> Double {
            let rank = p / 100 * Double(sorted.count - 1)
            let low = Int(rank.rounded(.down)), high = Int(rank.rounded(.up))
            return sorted[low] + (sorted[high] - sorted[low]) * (rank - Double(low))
        }
        count = sorted.count
        p50 = percentile(50)
        p95 = percentile(95)
        p99 = percentile(99)
        mean = sorted.reduce(0, +) / Double(sorted.count)
        min = sorted.first!
        max = sorted.last!
    }
}
