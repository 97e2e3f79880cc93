import Synchronization

/// Bytes queued for one client and not yet written to it. A client that does not read must not
/// make the server hold without bound what a program writes for it: a streamed run's output
/// events, a session process's output over a WebSocket (four SSE clients that never read held the
/// server at 2 GB). The producer counts what it queues (`add`) and drops or ends past the limit;
/// the writer counts what it wrote (`written`).
final class Backlog: Sendable {
    /// What one client may have waiting by default.
    static let defaultLimit = 8 << 20

    let limit: Int
    private let bytes = Atomic<Int>(0)

    init(limit: Int = Backlog.defaultLimit) { self.limit = limit }

    /// Counts `n` more bytes queued; false (and not counted) when they would pass the limit. One
    /// message larger than the limit is taken when nothing waits (a process's output so far, sent
    /// whole when a client attaches).
    func add(_ n: Int) -> Bool {
        var current = bytes.load(ordering: .relaxed)
        while true {
            guard current == 0 || current + n <= limit else { return false }
            let (exchanged, original) = bytes.compareExchange(expected: current, desired: current + n, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
    }

    /// Counts `n` bytes queued whatever the limit (what must reach the client: the final answer).
    func force(_ n: Int) { bytes.add(n, ordering: .relaxed) }

    /// `n` bytes were written to the client.
    func written(_ n: Int) { bytes.subtract(n, ordering: .relaxed) }

    var waiting: Int { bytes.load(ordering: .relaxed) }
}
