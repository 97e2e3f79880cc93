import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Where a connection stands.
public enum NATSConnectionState: String, Sendable {
    case connected, reconnecting, closed
}

/// A client connection to one NATS server (core protocol: PUB/HPUB, SUB with queue groups,
/// MSG/HMSG, PING/PONG, request/reply over one inbox subscription). When the socket goes, it
/// reconnects with backoff forever (until `close`), subscribes again with the same ids, and sends
/// what was published meanwhile (bounded by `reconnectBufferBytes`).
public final class NATSConnection: Sendable {
    public let options: NATSOptions
    let logger: Logger
    let group: any EventLoopGroup
    let state = Mutex(State())
    /// `_INBOX.<random>`: the prefix of every reply subject of this connection's requests.
    let inboxPrefix = "_INBOX." + NATSConnection.randomToken(22)

    struct Subscription {
        var subject: String
        var queue: String?
        /// Nil for the request inbox, whose messages are routed to their requests.
        var continuation: AsyncStream<NATSMessage>.Continuation?
        var pending = PendingBytes()
    }

    struct Handshake {
        var generation: UInt64
        var info = Once<NATSServerInfo>()
        var pong = Once<Void>()
    }

    enum Phase { case connecting, connected, reconnecting, closed }

    struct State {
        var phase = Phase.connecting
        /// Which socket is current: operations and closes from an older one are ignored.
        var generation: UInt64 = 0
        var channel: (any Channel)?
        var handshake: Handshake?
        var info: NATSServerInfo?
        var subscriptions: [UInt64: Subscription] = [:]
        var nextSID: UInt64 = 1
        var buffered: [ByteBuffer] = []
        var bufferedBytes = 0
        /// One entry per PING sent after the handshake: a flush's waiter, or nil for a keep-alive.
        var pongQueue: [CheckedContinuation<Bool, Never>?] = []
        var inboxSID: UInt64?
        var requests: [String: CheckedContinuation<Result<NATSMessage, NATSError>, Never>] = [:]
        var nextRequest: UInt64 = 0
        var reconnects = 0
        var droppedMessages = 0
        var lastError: String?
        var pinger: Task<Void, Never>?
    }

    init(options: NATSOptions, logger: Logger, group: any EventLoopGroup) {
        self.options = options
        self.logger = logger
        self.group = group
    }

    /// Connects and greets the server; throws `authorizationFailed` when it refuses the credentials,
    /// `connectionFailed` when it cannot be reached. Reconnection starts only after this succeeded.
    public static func connect(_ options: NATSOptions, logger: Logger = Logger(label: "nats"),
                               group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws(NATSError) -> NATSConnection {
        let connection = NATSConnection(options: options, logger: logger, group: group)
        try await connection.establish()
        connection.startPinger()
        return connection
    }

    // MARK: what callers read

    public var connectionState: NATSConnectionState {
        state.withLock { s in
            switch s.phase {
            case .connected: .connected
            case .closed: .closed
            case .connecting, .reconnecting: .reconnecting
            }
        }
    }
    public var serverInfo: NATSServerInfo? { state.withLock { $0.info } }
    /// The largest message the server accepts (1 MB until it said otherwise).
    public var maxPayload: Int { state.withLock { $0.info?.maxPayload ?? 1 << 20 } }
    public var reconnectCount: Int { state.withLock { $0.reconnects } }
    /// Messages dropped because a subscription's consumer fell `pendingMessagesLimit` behind.
    public var droppedMessages: Int { state.withLock { $0.droppedMessages } }
    public var lastError: String? { state.withLock { $0.lastError } }

    // MARK: publishing

    /// Sends a message; while reconnecting it waits in the reconnect buffer.
    public func publish(_ subject: String, payload: [UInt8], replyTo: String? = nil, headers: NATSHeaders? = nil) throws(NATSError) {
        try Self.checkToken(subject, what: "subject")
        if let replyTo { try Self.checkToken(replyTo, what: "reply subject") }
        let headerBytes = headers?.encoded ?? []
        let size = headerBytes.count + payload.count
        let limit = maxPayload
        guard size <= limit else {
            throw NATSError(.payloadTooLarge, "a message of \(size) bytes exceeds the server's max_payload of \(limit) bytes")
        }
        var buffer = ByteBuffer()
        buffer.reserveCapacity(size + subject.utf8.count + 64)
        let reply = replyTo.map { " " + $0 } ?? ""
        if headers != nil {
            buffer.writeString("HPUB \(subject)\(reply) \(headerBytes.count) \(size)\r\n")
            buffer.writeBytes(headerBytes)
        } else {
            buffer.writeString("PUB \(subject)\(reply) \(size)\r\n")
        }
        buffer.writeBytes(payload)
        buffer.writeString("\r\n")
        try send(buffer)
    }

    func send(_ buffer: ByteBuffer) throws(NATSError) {
        try state.withLock { s throws(NATSError) in
            switch s.phase {
            case .closed:
                throw NATSError(.closed, "the connection is closed")
            case .connected:
                s.channel?.writeAndFlush(buffer, promise: nil)
            case .connecting, .reconnecting:
                guard s.bufferedBytes + buffer.readableBytes <= options.reconnectBufferBytes else {
                    throw NATSError(.reconnectBufferFull, "disconnected from \(options.redactedURL) and \(s.bufferedBytes) bytes already wait "
                        + "for the reconnection (the bound is \(options.reconnectBufferBytes)); retry later")
                }
                s.buffered.append(buffer)
                s.bufferedBytes += buffer.readableBytes
            }
        }
    }

    // MARK: subscribing

    /// Subscribes to `subject` (wildcards allowed), in queue group `queue` if given: each message of
    /// a queue group goes to one of its members.
    public func subscribe(_ subject: String, queue: String? = nil) throws(NATSError) -> NATSSubscription {
        try Self.checkToken(subject, what: "subject")
        if let queue { try Self.checkToken(queue, what: "queue group") }
        let (stream, continuation) = AsyncStream<NATSMessage>.makeStream(bufferingPolicy: .bufferingOldest(options.pendingMessagesLimit))
        let pending = PendingBytes()
        let sid = try state.withLock { s throws(NATSError) -> UInt64 in
            guard s.phase != .closed else { throw NATSError(.closed, "the connection is closed") }
            let sid = s.nextSID
            s.nextSID += 1
            s.subscriptions[sid] = Subscription(subject: subject, queue: queue, continuation: continuation, pending: pending)
            if s.phase == .connected { s.channel?.writeAndFlush(ByteBuffer(string: Self.subLine(sid, subject, queue)), promise: nil) }
            return sid
        }
        continuation.onTermination = { [weak self] _ in self?.unsubscribe(sid) }
        return NATSSubscription(sid: sid, subject: subject, queue: queue, messages: stream, pending: pending, connection: self)
    }

    func unsubscribe(_ sid: UInt64) {
        let continuation = state.withLock { s -> AsyncStream<NATSMessage>.Continuation? in
            guard let sub = s.subscriptions.removeValue(forKey: sid) else { return nil }
            if s.phase == .connected { s.channel?.writeAndFlush(ByteBuffer(string: "UNSUB \(sid)\r\n"), promise: nil) }
            return sub.continuation
        }
        continuation?.finish()
    }

    static func subLine(_ sid: UInt64, _ subject: String, _ queue: String?) -> String {
        "SUB \(subject)\(queue.map { " " + $0 } ?? "") \(sid)\r\n"
    }

    // MARK: request/reply

    /// Publishes `payload` with a reply subject of this connection's inbox and waits for the first reply.
    /// Throws `noResponders` at once when nobody subscribes to `subject`, `timeout` after `timeout` s.
    public func request(_ subject: String, payload: [UInt8], headers: NATSHeaders? = nil, timeout: Double) async throws(NATSError) -> NATSMessage {
        let token = try state.withLock { s throws(NATSError) -> String in
            guard s.phase != .closed else { throw NATSError(.closed, "the connection is closed") }
            if s.inboxSID == nil {
                let sid = s.nextSID
                s.nextSID += 1
                s.inboxSID = sid
                s.subscriptions[sid] = Subscription(subject: inboxPrefix + ".*", queue: nil, continuation: nil)
                if s.phase == .connected { s.channel?.writeAndFlush(ByteBuffer(string: Self.subLine(sid, inboxPrefix + ".*", nil)), promise: nil) }
            }
            s.nextRequest += 1
            return String(s.nextRequest, radix: 36)
        }
        let timer = Task { [self] in
            try? await Task.sleep(nanoseconds: UInt64(max(0.001, min(timeout, 86_400)) * 1e9))
            if Task.isCancelled { return }
            let waiter = state.withLock { $0.requests.removeValue(forKey: token) }
            waiter?.resume(returning: .failure(NATSError(.timeout, "no reply on '\(subject)' within \(timeout) s")))
        }
        defer { timer.cancel() }
        let result = await withCheckedContinuation { (c: CheckedContinuation<Result<NATSMessage, NATSError>, Never>) in
            state.withLock { $0.requests[token] = c }
            do throws(NATSError) {
                try publish(subject, payload: payload, replyTo: inboxPrefix + "." + token, headers: headers)
            } catch {
                let waiter = state.withLock { $0.requests.removeValue(forKey: token) }
                waiter?.resume(returning: .failure(error))
            }
        }
        return try result.get()
    }

    /// Waits until the server has processed everything sent before (a PING's PONG). False when the
    /// connection is not up or the PONG did not come within `timeout`.
    public func flush(timeout: Double = 5) async -> Bool {
        let timer = Task { [self] in
            try? await Task.sleep(nanoseconds: UInt64(max(0.001, timeout) * 1e9))
            if Task.isCancelled { return }
            // A PONG that never comes: its waiter is answered false; the queue keeps its place.
            let waiters = state.withLock { s -> [CheckedContinuation<Bool, Never>] in
                defer { s.pongQueue = s.pongQueue.map { _ in nil } }
                return s.pongQueue.compactMap { $0 }
            }
            for w in waiters { w.resume(returning: false) }
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            let sent = state.withLock { s -> Bool in
                guard s.phase == .connected, let channel = s.channel else { return false }
                s.pongQueue.append(c)
                channel.writeAndFlush(ByteBuffer(string: "PING\r\n"), promise: nil)
                return true
            }
            if !sent { c.resume(returning: false) }
        }
    }

    // MARK: ending

    /// Unsubscribes everything (the subscriptions' sequences end after what they hold), waits for the
    /// server to have taken all that was published, then closes.
    public func drain(timeout: Double = 5) async {
        let continuations = state.withLock { s -> [AsyncStream<NATSMessage>.Continuation] in
            for (sid, sub) in s.subscriptions where sub.continuation != nil {
                if s.phase == .connected { s.channel?.write(ByteBuffer(string: "UNSUB \(sid)\r\n"), promise: nil) }
            }
            s.channel?.flush()
            let held = s.subscriptions.values.compactMap(\.continuation)
            s.subscriptions = s.subscriptions.filter { $0.value.continuation == nil }
            return held
        }
        for c in continuations { c.finish() }
        _ = await flush(timeout: timeout)
        close()
    }

    /// Closes at once: pending requests fail with `closed`, subscriptions end.
    public func close() {
        let (channel, requests, subs, pongs, pinger) = state.withLock { s in
            s.phase = .closed
            defer {
                s.channel = nil; s.requests = [:]; s.subscriptions = [:]; s.pongQueue = []; s.buffered = []; s.bufferedBytes = 0; s.pinger = nil
            }
            return (s.channel, s.requests, s.subscriptions, s.pongQueue, s.pinger)
        }
        pinger?.cancel()
        channel?.close(promise: nil)
        for r in requests.values { r.resume(returning: .failure(NATSError(.closed, "the connection was closed before a reply came"))) }
        for sub in subs.values { sub.continuation?.finish() }
        for p in pongs { p?.resume(returning: false) }
    }

    // MARK: helpers

    static func checkToken(_ s: String, what: String) throws(NATSError) {
        // By byte, as the server splits: by Character, "\r\n" and a space followed by a combining
        // mark are Characters equal to none of these.
        guard !s.isEmpty, s.utf8.count <= 1024, !s.utf8.contains(where: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }) else {
            throw NATSError(.invalidSubject, "a \(what) is 1 to 1024 characters without spaces or line breaks, got '\(s.prefix(80))'")
        }
    }

    static func randomToken(_ length: Int) -> String {
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        return String((0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count)] })
    }
}
