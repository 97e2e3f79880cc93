/// The batches of the batch tests: small programs in several languages, each printing its own
/// number, so that a result delivered to the wrong slot shows as a wrong `stdout`.
public enum MixedBatch {
    /// Batch sizes of 20 rounds: 1 to 100 items, about 500 runs in all.
    public static let sizes = [1, 2, 3, 5, 8, 13, 21, 34, 55, 100, 1, 2, 4, 6, 10, 16, 26, 42, 68, 100]

    /// Item `index` of a batch: a request printing `n` in the index-th language of the mix, and its stdout.
    public static func item(_ index: Int, printing n: Int) -> (request: [String: any Sendable], stdout: String) {
        let programs: [(String, String)] = [
            ("python", "print(\(n))"), ("bash", "echo \(n)"), ("javascript", "console.log(\(n))"), ("ruby", "puts \(n)"),
        ]
        let (language, code) = programs[index % programs.count]
        return (["code": code, "language": language, "use_cache": false], "\(n)\n")
    }

    /// The items of round `round` of `sizes`.
    public static func round(_ round: Int) -> [(request: [String: any Sendable], stdout: String)] {
        (0..<sizes[round]).map { item($0, printing: round * 1000 + $0) }
    }
}
