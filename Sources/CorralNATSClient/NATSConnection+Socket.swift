import Foundation
import NIOCore
import NIOPosix

/// The socket's life: connect and greet, read the server's operations, reconnect when it goes.
extension NATSConnection {
    /// Opens a socket, waits for INFO, sends CONNECT with every subscription and a PING, and waits
    /// for the PONG: once it comes the server has the subscriptions and accepted the credentials.
    func establish() async throws(NATSError) {
        let handshake = state.withLock { s -> Handshake in
            s.generation += 1
            let h = Handshake(generation: s.generation)
            s.handshake = h
            return h
        }
        let generation = handshake.generation
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.milliseconds(Int64(max(1, options.connectTimeout * 1000))))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { [self] ch in
                    ch.eventLoop.makeCompletedFuture {
                        try ch.pipeline.syncOperations.addHandlers([
                            ByteToMessageHandler(ServerOpDecoder()),
                            ServerOpHandler(generation: generation,
                                            onOp: { [weak self] g, op in self?.received(op, generation: g) },
                                            onClose: { [weak self] g, error in self?.socketClosed(generation: g, error: error) }),
                        ])
                    }
                }
                .connect(host: options.host, port: options.port).get()
        } catch {
            throw NATSError(.connectionFailed, "cannot reach \(options.redactedURL): \(error)")
        }
        do throws(NATSError) {
            let info = try await handshake.info.value(within: options.connectTimeout,
                                                      timeout: NATSError(.connectionFailed, "\(options.redactedURL) sent no INFO within \(options.connectTimeout) s; is it a NATS server?"))
            let greeted = state.withLock { s -> (String, Set<UInt64>) in
                s.info = info
                var text = "CONNECT " + connectJSON(info) + "\r\n"
                for (sid, sub) in s.subscriptions.sorted(by: { $0.key < $1.key }) { text += Self.subLine(sid, sub.subject, sub.queue) }
                return (text + "PING\r\n", Set(s.subscriptions.keys))
            }
            channel.writeAndFlush(ByteBuffer(string: greeted.0), promise: nil)
            try await handshake.pong.value(within: options.connectTimeout,
                                           timeout: NATSError(.connectionFailed, "\(options.redactedURL) did not answer CONNECT within \(options.connectTimeout) s"))
            try state.withLock { s throws(NATSError) in
                guard s.phase != .closed, s.generation == generation else { throw NATSError(.closed, "the connection was closed while connecting") }
                s.phase = .connected
                s.channel = channel
                s.handshake = nil
                s.pongQueue = []
                // Subscribed while the greeting was under way: not in the CONNECT batch.
                for (sid, sub) in s.subscriptions.sorted(by: { $0.key < $1.key }) where !greeted.1.contains(sid) {
                    channel.write(ByteBuffer(string: Self.subLine(sid, sub.subject, sub.queue)), promise: nil)
                }
                for buffer in s.buffered { channel.write(buffer, promise: nil) }
                s.buffered = []
                s.bufferedBytes = 0
                channel.flush()
            }
        } catch {
            channel.close(promise: nil)
            state.withLock { s in if s.handshake?.generation == generation { s.handshake = nil } }
            throw error
        }
    }

    func connectJSON(_ info: NATSServerInfo) -> String {
        var fields: [String: Any] = [
            "verbose": false, "pedantic": false, "lang": "swift", "version": "1.0.0", "protocol": 1,
            "headers": true, "no_responders": true, "name": options.name, "echo": true,
        ]
        if let user = options.user { fields["user"] = user }
        if let password = options.password { fields["pass"] = password }
        if let token = options.token { fields["auth_token"] = token }
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    func received(_ op: ServerOp, generation: UInt64) {
        switch op {
        case .info(let info):
            let handshake = state.withLock { s -> Handshake? in
                guard s.generation == generation else { return nil }
                s.info = info
                return s.handshake
            }
            handshake?.info.complete(.success(info))
        case .ping:
            state.withLock { s in
                if s.generation == generation { s.channel?.writeAndFlush(ByteBuffer(string: "PONG\r\n"), promise: nil) }
            }
        case .pong:
            let (handshake, waiter) = state.withLock { s -> (Handshake?, CheckedContinuation<Bool, Never>?) in
                guard s.generation == generation else { return (nil, nil) }
                if let h = s.handshake { return (h, nil) }
                guard !s.pongQueue.isEmpty else { return (nil, nil) }
                return (nil, s.pongQueue.removeFirst())
            }
            handshake?.pong.complete(.success(()))
            waiter?.resume(returning: true)
        case .ok:
            break
        case .error(let text):
            let handshake = state.withLock { s -> Handshake? in
                s.lastError = text
                return s.generation == generation ? s.handshake : nil
            }
            if let handshake {
                let error = text.lowercased().contains("authorization")
                    ? NATSError(.authorizationFailed, "\(options.redactedURL) refused the credentials ('\(text)'); check the user/password or token in the URL")
                    : NATSError(.protocolError, "\(options.redactedURL) refused the connection: '\(text)'")
                handshake.info.complete(.failure(error))
                handshake.pong.complete(.failure(error))
            } else {
                logger.warning("NATS server error", metadata: ["error": .string(text), "server": .string(options.redactedURL)])
            }
        case .message(let sid, let message):
            deliver(message, sid: sid)
        }
    }

    func deliver(_ message: NATSMessage, sid: UInt64) {
        enum Route { case request(CheckedContinuation<Result<NATSMessage, NATSError>, Never>), subscription(AsyncStream<NATSMessage>.Continuation, PendingBytes), none }
        let route = state.withLock { s -> Route in
            if sid == s.inboxSID {
                let token = message.subject.split(separator: ".").last.map(String.init) ?? ""
                return s.requests.removeValue(forKey: token).map(Route.request) ?? .none
            }
            guard let sub = s.subscriptions[sid], let continuation = sub.continuation else { return .none }
            return .subscription(continuation, sub.pending)
        }
        switch route {
        case .request(let waiter):
            if message.headers?.status == 503 && message.payload.isEmpty {
                waiter.resume(returning: .failure(NATSError(.noResponders, "nobody subscribes to the request's subject")))
            } else {
                waiter.resume(returning: .success(message))
            }
        case .subscription(let continuation, let pending):
            let cost = message.pendingCost
            var kept = pending.add(cost, limit: options.pendingBytesLimit)
            if kept, case .dropped = continuation.yield(message) {
                pending.taken(cost)
                kept = false
            }
            if !kept {
                let dropped = state.withLock { s -> Int in s.droppedMessages += 1; return s.droppedMessages }
                if dropped == 1 || dropped % 1000 == 0 {
                    logger.warning("slow consumer: messages dropped", metadata: [
                        "subject": .string(message.subject), "dropped_total": .stringConvertible(dropped),
                        "pending_limit": .stringConvertible(options.pendingMessagesLimit),
                        "pending_bytes_limit": .stringConvertible(options.pendingBytesLimit)])
                }
            }
        case .none:
            break
        }
    }

    func socketClosed(generation: UInt64, error: (any Error)?) {
        enum Next { case nothing, failHandshake(Handshake), reconnect([CheckedContinuation<Bool, Never>?]) }
        let next = state.withLock { s -> Next in
            guard s.generation == generation else { return .nothing }
            if let h = s.handshake { return .failHandshake(h) }
            guard s.phase == .connected else { return .nothing }
            s.phase = .reconnecting
            s.channel = nil
            if let error { s.lastError = "\(error)" }
            defer { s.pongQueue = [] }
            return .reconnect(s.pongQueue)
        }
        switch next {
        case .nothing:
            break
        case .failHandshake(let h):
            let e = NATSError(.connectionFailed, "\(options.redactedURL) closed the connection while greeting\(error.map { ": \($0)" } ?? "")")
            h.info.complete(.failure(e))
            h.pong.complete(.failure(e))
        case .reconnect(let pongs):
            for p in pongs { p?.resume(returning: false) }
            logger.warning("NATS connection lost; reconnecting", metadata: ["server": .string(options.redactedURL)])
            Task { await self.reconnect() }
        }
    }

    /// Tries again and again with growing waits (capped at `reconnectWaitMax`) until connected or closed.
    func reconnect() async {
        var wait = options.reconnectWaitInitial
        var attempts = 0
        while state.withLock({ $0.phase }) == .reconnecting {
            attempts += 1
            do throws(NATSError) {
                try await establish()
                let n = state.withLock { s -> Int in s.reconnects += 1; return s.reconnects }
                logger.info("NATS reconnected", metadata: ["server": .string(options.redactedURL), "attempts": .stringConvertible(attempts),
                                                           "reconnects": .stringConvertible(n)])
                return
            } catch {
                state.withLock { $0.lastError = error.message }
                if error.code == .closed { return }
                if attempts == 1 || attempts % 50 == 0 {
                    logger.warning("NATS reconnect failed; retrying", metadata: ["error": .string(error.message), "attempts": .stringConvertible(attempts)])
                }
            }
            let jitter = Double.random(in: 0.8...1.2)
            try? await Task.sleep(nanoseconds: UInt64(wait * jitter * 1e9))
            wait = min(wait * 2, options.reconnectWaitMax)
        }
    }

    /// PINGs every `pingInterval`; `maxPingsOutstanding` unanswered closes the socket (then reconnects).
    func startPinger() {
        let interval = options.pingInterval, maxOutstanding = options.maxPingsOutstanding
        let task = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(max(0.05, interval) * 1e9))
                guard let self else { return }
                let stale = self.state.withLock { s -> (any Channel)? in
                    guard s.phase == .connected, let channel = s.channel else { return nil }
                    if s.pongQueue.count >= maxOutstanding { return channel }
                    s.pongQueue.append(nil)
                    channel.writeAndFlush(ByteBuffer(string: "PING\r\n"), promise: nil)
                    return nil
                }
                if let stale {
                    self.logger.warning("NATS server stopped answering PINGs; reconnecting", metadata: ["server": .string(self.options.redactedURL)])
                    stale.close(promise: nil)
                }
            }
        }
        state.withLock { $0.pinger = task }
    }
}
