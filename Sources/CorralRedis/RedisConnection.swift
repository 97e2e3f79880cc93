import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A small Redis client (no Redis package builds here): one pipelined connection, opened on first
/// use and again after it broke. Replies come in the order commands were written; a command with
/// no reply within `timeout` fails, and the connection is closed (later replies could no longer be
/// matched), so every command waiting on it fails at once rather than hanging.
public final class RedisConnection: Sendable {
    public struct Options: Sendable {
        public var host = "127.0.0.1"
        public var port = 6379
        public var username: String?
        public var password: String?
        public var database = 0
        /// Seconds for connecting and for each command's reply.
        public var timeout: Double = 0.5

        public init() {}

        /// `redis://[[user]:password@]host[:port][/db]`.
        public init(url: String) throws(RedisError) {
            guard let c = URLComponents(string: url), c.scheme?.lowercased() == "redis", let host = c.host, !host.isEmpty else {
                throw RedisError(.invalidURL, "'\(url)' is not a redis:// URL; give redis://HOST:PORT (rediss:// TLS is not supported)")
            }
            self.host = host
            port = c.port ?? 6379
            guard (1...65535).contains(port) else { throw RedisError(.invalidURL, "'\(url)': port \(port) is out of range") }
            if let p = c.password { password = p.removingPercentEncoding ?? p }
            if let u = c.user, !u.isEmpty, c.password != nil { username = u.removingPercentEncoding ?? u }
            let path = c.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            if !path.isEmpty {
                guard let db = Int(path), (0...15).contains(db) else { throw RedisError(.invalidURL, "'\(url)': the database is 0 to 15, got '\(path)'") }
                database = db
            }
        }

        public var redactedURL: String { "redis://\(host):\(port)/\(database)" }
    }

    struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Result<RESPValue, RedisError>, Never>
    }

    struct State {
        var channel: (any Channel)?
        var generation: UInt64 = 0
        var waiting: [Waiter] = []
        var nextID: UInt64 = 0
        var connecting: Task<Result<UInt64, RedisError>, Never>?
    }

    public let options: Options
    let group: any EventLoopGroup
    let state = Mutex(State())

    public init(_ options: Options, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.options = options
        self.group = group
    }

    public var isConnected: Bool { state.withLock { $0.channel?.isActive ?? false } }

    /// Sends one command (`["SET", key, value]`) and returns its reply; a Redis error reply is thrown
    /// as `commandFailed`.
    public func command(_ arguments: [String]) async throws(RedisError) -> RESPValue {
        try await command(arguments.map { Array($0.utf8) })
    }

    public func command(_ arguments: [[UInt8]]) async throws(RedisError) -> RESPValue {
        let generation = try await connected()
        let reply = try await send(arguments, generation: generation)
        if case .error(let text) = reply { throw RedisError(.commandFailed, text) }
        return reply
    }

    public func close() {
        let channel = state.withLock { s -> (any Channel)? in defer { s.channel = nil }; return s.channel }
        channel?.close(promise: nil)
    }

    /// The generation of a live connection, opening one if needed (callers at once share one attempt).
    func connected() async throws(RedisError) -> UInt64 {
        let (ready, attempt) = state.withLock { s -> (UInt64?, Task<Result<UInt64, RedisError>, Never>?) in
            if let channel = s.channel, channel.isActive { return (s.generation, nil) }
            if let connecting = s.connecting { return (nil, connecting) }
            let task = Task { await self.open() }
            s.connecting = task
            return (nil, task)
        }
        if let ready { return ready }
        guard let attempt else { throw RedisError(.connectionFailed, "no connection") }
        return try await attempt.value.get()
    }

    private func open() async -> Result<UInt64, RedisError> {
        defer { state.withLock { $0.connecting = nil } }
        let generation = state.withLock { s -> UInt64 in s.generation += 1; return s.generation }
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.milliseconds(Int64(max(1, options.timeout * 1000))))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { [self] ch in
                    ch.eventLoop.makeCompletedFuture {
                        try ch.pipeline.syncOperations.addHandlers([
                            ByteToMessageHandler(RESPDecoder()),
                            RESPHandler(onValue: { [weak self] v in self?.received(v, generation: generation) },
                                        onClose: { [weak self] in self?.closed(generation: generation) }),
                        ])
                    }
                }
                .connect(host: options.host, port: options.port).get()
        } catch {
            return .failure(RedisError(.connectionFailed, "cannot reach \(options.redactedURL): \(error)"))
        }
        state.withLock { s in s.channel = channel }
        do throws(RedisError) {
            if let password = options.password {
                _ = try await checked(send(options.username.map { ["AUTH", $0, password] } ?? ["AUTH", password], generation: generation))
            }
            if options.database != 0 { _ = try await checked(send(["SELECT", String(options.database)], generation: generation)) }
        } catch {
            channel.close(promise: nil)
            return .failure(RedisError(.connectionFailed, "\(options.redactedURL) refused the connection: \(error.message)"))
        }
        return .success(generation)
    }

    private func checked(_ value: RESPValue) throws(RedisError) -> RESPValue {
        if case .error(let text) = value { throw RedisError(.commandFailed, text) }
        return value
    }

    private func send(_ arguments: [String], generation: UInt64) async throws(RedisError) -> RESPValue {
        try await send(arguments.map { Array($0.utf8) }, generation: generation)
    }

    func send(_ arguments: [[UInt8]], generation: UInt64) async throws(RedisError) -> RESPValue {
        var buffer = ByteBuffer()
        RESPValue.encode(arguments, into: &buffer)
        let id = state.withLock { s -> UInt64 in s.nextID += 1; return s.nextID }
        let timeout = options.timeout
        let timer = Task { [self] in
            try? await Task.sleep(nanoseconds: UInt64(max(0.001, timeout) * 1e9))
            if Task.isCancelled { return }
            let (late, channel) = state.withLock { s -> (Waiter?, (any Channel)?) in
                guard let i = s.waiting.firstIndex(where: { $0.id == id }) else { return (nil, nil) }
                return (s.waiting.remove(at: i), s.channel)
            }
            guard let late else { return }
            late.continuation.resume(returning: .failure(RedisError(.timeout, "no reply from \(options.redactedURL) within \(timeout) s")))
            channel?.close(promise: nil)  // the replies still due would be matched to the wrong commands
        }
        defer { timer.cancel() }
        let result = await withCheckedContinuation { (c: CheckedContinuation<Result<RESPValue, RedisError>, Never>) in
            let sent = state.withLock { s -> Bool in
                guard s.generation == generation, let channel = s.channel, channel.isActive else { return false }
                s.waiting.append(Waiter(id: id, continuation: c))
                channel.writeAndFlush(buffer, promise: nil)
                return true
            }
            if !sent { c.resume(returning: .failure(RedisError(.connectionLost, "the connection to \(options.redactedURL) is gone"))) }
        }
        return try result.get()
    }

    func received(_ value: RESPValue, generation: UInt64) {
        let waiter = state.withLock { s -> Waiter? in
            guard s.generation == generation, !s.waiting.isEmpty else { return nil }
            return s.waiting.removeFirst()
        }
        waiter?.continuation.resume(returning: .success(value))
    }

    func closed(generation: UInt64) {
        let waiting = state.withLock { s -> [Waiter] in
            guard s.generation == generation else { return [] }
            s.channel = nil
            defer { s.waiting = [] }
            return s.waiting
        }
        for w in waiting { w.continuation.resume(returning: .failure(RedisError(.connectionLost, "the connection to \(options.redactedURL) closed"))) }
    }
}

struct RESPDecoder: ByteToMessageDecoder {
    typealias InboundOut = RESPValue
    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let value = try RESPValue.next(&buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(value))
        return .continue
    }
}

final class RESPHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = RESPValue
    let onValue: @Sendable (RESPValue) -> Void
    let onClose: @Sendable () -> Void
    init(onValue: @escaping @Sendable (RESPValue) -> Void, onClose: @escaping @Sendable () -> Void) {
        self.onValue = onValue
        self.onClose = onClose
    }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) { onValue(unwrapInboundIn(data)) }
    func channelInactive(context: ChannelHandlerContext) { onClose(); context.fireChannelInactive() }
    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}
