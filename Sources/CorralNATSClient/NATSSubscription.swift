/// The messages of one subscription, in arrival order. Ends when unsubscribed, drained or closed.
/// Messages beyond the connection's `pendingMessagesLimit` that the consumer has not taken yet
/// are dropped and counted (`NATSConnection.droppedMessages`): a slow consumer is told in the
/// log, and the process does not grow without bound.
public struct NATSSubscription: AsyncSequence, Sendable {
    public typealias Element = NATSMessage
    public let sid: UInt64
    public let subject: String
    public let queue: String?
    let messages: AsyncStream<NATSMessage>
    let connection: NATSConnection

    public func makeAsyncIterator() -> AsyncStream<NATSMessage>.AsyncIterator { messages.makeAsyncIterator() }

    /// Stops delivery: the server is told, and the sequence ends after what it holds.
    public func unsubscribe() { connection.unsubscribe(sid) }
}
