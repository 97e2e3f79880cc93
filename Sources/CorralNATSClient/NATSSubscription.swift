import Synchronization

/// The messages of one subscription, in arrival order. Ends when unsubscribed, drained or closed.
/// Messages beyond the connection's `pendingMessagesLimit` or `pendingBytesLimit` that the
/// consumer has not taken yet are dropped and counted (`NATSConnection.droppedMessages`): a slow
/// consumer is told in the log, and the process does not grow without bound (4096 messages of a
/// server's 64 MB maximum payload would be 256 GiB).
public struct NATSSubscription: AsyncSequence, Sendable {
    public typealias Element = NATSMessage
    public let sid: UInt64
    public let subject: String
    public let queue: String?
    let messages: AsyncStream<NATSMessage>
    let pending: PendingBytes
    let connection: NATSConnection

    public func makeAsyncIterator() -> Iterator { Iterator(base: messages.makeAsyncIterator(), pending: pending) }

    /// Takes each message's bytes off the subscription's pending count as the consumer takes it.
    public struct Iterator: AsyncIteratorProtocol {
        var base: AsyncStream<NATSMessage>.AsyncIterator
        let pending: PendingBytes

        public mutating func next() async -> NATSMessage? {
            let message = await base.next()
            if let message { pending.taken(message.pendingCost) }
            return message
        }
    }

    /// Stops delivery: the server is told, and the sequence ends after what it holds.
    public func unsubscribe() { connection.unsubscribe(sid) }
}

/// Payload bytes a subscription holds for its consumer.
final class PendingBytes: Sendable {
    private let bytes = Atomic<Int>(0)

    /// Counts `n` more; false (not counted) when they would pass `limit` while some are held.
    func add(_ n: Int, limit: Int) -> Bool {
        var current = bytes.load(ordering: .relaxed)
        while true {
            guard current == 0 || current + n <= limit else { return false }
            let (exchanged, original) = bytes.compareExchange(expected: current, desired: current + n, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
    }

    func taken(_ n: Int) { bytes.subtract(n, ordering: .relaxed) }
}
