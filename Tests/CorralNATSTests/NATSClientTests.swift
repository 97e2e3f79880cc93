import CorralNATSClient
import CorralTestSupport
import Foundation
import Testing

/// The NATS client against Debian's real nats-server on a free loopback port.
@Suite(.serialized, .enabled(if: LocalServer.natsServerInstalled))
struct NATSClientTests {
    static func withServer(_ server: LocalServer = .nats(), _ body: (LocalServer, NATSOptions) async throws -> Void) async throws {
        try server.start()
        defer { server.remove() }
        try await body(server, NATSOptions(host: "127.0.0.1", port: server.port))
    }

    /// Answers every request on `subject` with `transform(payload)` until the subscription ends.
    static func responder(_ connection: NATSConnection, _ subject: String, queue: String? = nil,
                          _ transform: @escaping @Sendable ([UInt8]) -> [UInt8] = { $0 }) async throws -> Task<Int, Never> {
        let subscription = try connection.subscribe(subject, queue: queue)
        // The server has taken the SUB once it answers a PING sent after it: a request from another
        // connection before that finds no responder (seen as a flaky no_responders).
        guard await connection.flush() else { throw NATSTestError("the server did not confirm the subscription to \(subject)") }
        return Task {
            var served = 0
            for await message in subscription {
                guard let reply = message.replyTo else { continue }
                try? connection.publish(reply, payload: transform(message.payload))
                served += 1
            }
            return served
        }
    }

    @Test("request/reply: the reply to each request comes back to it, headers included")
    func requestReply() async throws {
        try await Self.withServer { _, options in
            let service = try await NATSConnection.connect(options)
            let client = try await NATSConnection.connect(options)
            defer { service.close(); client.close() }
            let echo = try await Self.responder(service, "test.upper") { Array(String(decoding: $0, as: UTF8.self).uppercased().utf8) }
            #expect(await service.flush())
            try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for i in 0..<50 {
                    group.addTask {
                        let reply = try await client.request("test.upper", payload: Array("hello \(i)".utf8), timeout: 5)
                        return (i, String(decoding: reply.payload, as: UTF8.self))
                    }
                }
                for try await (i, text) in group { #expect(text == "HELLO \(i)") }
            }
            // Headers travel (HPUB → HMSG).
            let sub = try service.subscribe("test.headers")
            // Published from another connection: only once the server has the SUB (else the message is
            // dropped and the wait below never ends — a CI hang).
            #expect(await service.flush())
            try client.publish("test.headers", payload: Array("x".utf8), headers: NATSHeaders([("Corral-Test", "42")]))
            var iterator = sub.makeAsyncIterator()
            let got = await iterator.next()
            #expect(got?.headers?["corral-test"] == "42" && got?.payload == Array("x".utf8))
            echo.cancel()
        }
    }

    @Test("no responders and timeouts are errors that say so")
    func noRespondersAndTimeout() async throws {
        try await Self.withServer { _, options in
            let client = try await NATSConnection.connect(options)
            defer { client.close() }
            await #expect(throws: NATSError.self) { _ = try await client.request("nobody.here", payload: [], timeout: 5) }
            do throws(NATSError) { _ = try await client.request("nobody.here", payload: [], timeout: 5) } catch {
                #expect(error.code == .noResponders, "\(error)")
            }
            let silent = try client.subscribe("silent")  // subscribed, never answers
            #expect(await client.flush())
            let start = Date()
            do throws(NATSError) { _ = try await client.request("silent", payload: [], timeout: 0.3); Issue.record("a silent subject answered") } catch {
                #expect(error.code == .timeout, "\(error)")
            }
            #expect(Date().timeIntervalSince(start) < 3)
            silent.unsubscribe()
        }
    }

    @Test("a queue group spreads messages over its members; each message goes to one")
    func queueGroupSpread() async throws {
        try await Self.withServer { _, options in
            let a = try await NATSConnection.connect(options), b = try await NATSConnection.connect(options)
            let sender = try await NATSConnection.connect(options)
            defer { a.close(); b.close(); sender.close() }
            let subA = try a.subscribe("work.items", queue: "workers"), subB = try b.subscribe("work.items", queue: "workers")
            let (fa, fb) = (await a.flush(), await b.flush())
            #expect(fa && fb)
            let countA = Task { var n = 0; for await _ in subA { n += 1 }; return n }
            let countB = Task { var n = 0; for await _ in subB { n += 1 }; return n }
            for i in 0..<400 { try sender.publish("work.items", payload: Array("\(i)".utf8)) }
            #expect(await sender.flush())
            let (ga, gb) = (await a.flush(), await b.flush())
            #expect(ga && gb)
            subA.unsubscribe(); subB.unsubscribe()
            let (na, nb) = (await countA.value, await countB.value)
            #expect(na + nb == 400, "each message once: \(na) + \(nb)")
            #expect(na >= 100 && nb >= 100, "spread over both members: \(na) and \(nb)")
        }
    }

    @Test("1 MB payloads round-trip intact; one byte over the server's max_payload is refused before sending")
    func largePayloads() async throws {
        try await Self.withServer { _, options in
            let service = try await NATSConnection.connect(options), client = try await NATSConnection.connect(options)
            defer { service.close(); client.close() }
            let echo = try await Self.responder(service, "big.echo") { Array($0.reversed()) }
            #expect(await service.flush())
            let max = client.maxPayload
            #expect(max == 1 << 20, "nats-server's default max_payload is 1 MB: \(max)")
            var payload = [UInt8](repeating: 0, count: max)
            for i in payload.indices { payload[i] = UInt8(truncatingIfNeeded: i &* 31 &+ i >> 8) }
            let reply = try await client.request("big.echo", payload: payload, timeout: 10)
            #expect(reply.payload == Array(payload.reversed()))
            do throws(NATSError) { try client.publish("big.echo", payload: payload + [1]); Issue.record("an oversize message was sent") } catch {
                #expect(error.code == .payloadTooLarge && error.message.contains("\(max)"), "\(error)")
            }
            // The connection is still fine afterwards.
            #expect(try await client.request("big.echo", payload: [1, 2, 3], timeout: 5).payload == [3, 2, 1])
            echo.cancel()
        }
    }

    @Test("server restarted mid-stream: both sides reconnect and resubscribe within 2 s, no message of the new server is lost")
    func serverRestart() async throws {
        let server = LocalServer.nats()
        try server.start()
        defer { server.remove() }
        let options = NATSOptions(host: "127.0.0.1", port: server.port)
        let service = try await NATSConnection.connect(options), client = try await NATSConnection.connect(options)
        defer { service.close(); client.close() }
        let echo = try await Self.responder(service, "restart.echo")
        #expect(try await client.request("restart.echo", payload: [1], timeout: 5).payload == [1])
        // Requests keep flowing while the server dies and comes back.
        let load = Task {
            var ok = 0, failed = 0
            while !Task.isCancelled {
                do { _ = try await client.request("restart.echo", payload: [2], timeout: 0.5); ok += 1 } catch { failed += 1 }
            }
            return (ok, failed)
        }
        try await Task.sleep(nanoseconds: 200_000_000)
        server.stop(kill: true)
        try await Task.sleep(nanoseconds: 500_000_000)
        #expect(client.connectionState == .reconnecting && service.connectionState == .reconnecting)
        try server.start()
        let restarted = Date()
        var back: Double?
        while Date().timeIntervalSince(restarted) < 5 {
            if let reply = try? await client.request("restart.echo", payload: [3], timeout: 0.25), reply.payload == [3] {
                back = Date().timeIntervalSince(restarted)
                break
            }
        }
        load.cancel()
        let (ok, _) = await load.value
        #expect(back != nil && back! < 2, "request/reply works again \(back.map { "\($0) s" } ?? "never") after the server restarted")
        #expect(client.reconnectCount == 1 && service.reconnectCount == 1)
        #expect(ok > 0)
        echo.cancel()
    }

    @Test("a slow consumer loses what exceeds its pending limit (counted), keeps the oldest, and the connection lives on")
    func slowConsumer() async throws {
        try await Self.withServer { _, base in
            var options = base
            options.pendingMessagesLimit = 10
            let slow = try await NATSConnection.connect(options), sender = try await NATSConnection.connect(base)
            defer { slow.close(); sender.close() }
            let sub = try slow.subscribe("flood")
            #expect(await slow.flush())
            for i in 0..<100 { try sender.publish("flood", payload: Array("\(i)".utf8)) }
            #expect(await sender.flush())
            #expect(await slow.flush())
            #expect(slow.droppedMessages == 90, "\(slow.droppedMessages) dropped")
            var iterator = sub.makeAsyncIterator()
            var kept: [String] = []
            for _ in 0..<10 { if let m = await iterator.next() { kept.append(String(decoding: m.payload, as: UTF8.self)) } }
            #expect(kept == (0..<10).map(String.init))
            #expect(slow.connectionState == .connected)
            let echo = try await Self.responder(sender, "after.flood")
            #expect(await sender.flush())
            #expect(try await slow.request("after.flood", payload: [9], timeout: 5).payload == [9])
            echo.cancel()
        }
    }

    @Test("a slow consumer also loses what exceeds its pending bytes; taking messages makes room again")
    func slowConsumerBytes() async throws {
        try await Self.withServer { _, base in
            var options = base
            options.pendingBytesLimit = 1 << 20
            let slow = try await NATSConnection.connect(options), sender = try await NATSConnection.connect(base)
            defer { slow.close(); sender.close() }
            let sub = try slow.subscribe("bulk")
            #expect(await slow.flush())
            let payload = [UInt8](repeating: 7, count: 200_000)
            for _ in 0..<20 { try sender.publish("bulk", payload: payload) }
            #expect(await sender.flush())
            #expect(await slow.flush())
            // 1 MiB holds five of 200,000 bytes: the other fifteen are dropped.
            #expect(slow.droppedMessages == 15, "\(slow.droppedMessages) dropped")
            var iterator = sub.makeAsyncIterator()
            for _ in 0..<5 { _ = await iterator.next() }
            // Taken: room for five more.
            for _ in 0..<5 { try sender.publish("bulk", payload: payload) }
            #expect(await sender.flush())
            #expect(await slow.flush())
            #expect(slow.droppedMessages == 15, "the room taken messages left was used: \(slow.droppedMessages) dropped")
            for _ in 0..<5 { #expect(await iterator.next()?.payload.count == 200_000) }
        }
    }

    /// Headers count against the pending bytes too: an empty payload with 1 MB of `a:` lines is
    /// 262,000 fields held, and was counted as nothing.
    @Test("a subscription's pending bytes count headers as well as payloads")
    func slowConsumerHeaderBytes() async throws {
        try await Self.withServer { _, base in
            var options = base
            options.pendingBytesLimit = 1 << 20
            let slow = try await NATSConnection.connect(options), sender = try await NATSConnection.connect(base)
            defer { slow.close(); sender.close() }
            let sub = try slow.subscribe("headers")
            #expect(await slow.flush())
            let headers = NATSHeaders((0..<5000).map { ("a\($0)", "x") })
            for _ in 0..<20 { try sender.publish("headers", payload: [], headers: headers) }
            #expect(await sender.flush())
            #expect(await slow.flush())
            // Each holds about 5000 × 52 bytes: 1 MiB holds four of them.
            #expect(slow.droppedMessages >= 15, "\(slow.droppedMessages) dropped")
            _ = sub
        }
    }

    @Test("subjects and reply subjects with a line break or a blank are refused, however they combine into Characters", arguments: [
        "a\r\nPUB x 1", "a \u{301}b", "a\r\n", "\u{600} b",
    ])
    func injectedSubjects(_ subject: String) async throws {
        try await Self.withServer { _, base in
            let c = try await NATSConnection.connect(base)
            defer { c.close() }
            for attempt in 0..<2 {
                do throws(NATSError) {
                    if attempt == 0 { try c.publish(subject, payload: []) } else { try c.publish("ok", payload: [], replyTo: subject) }
                    Issue.record("'\(subject)' was taken")
                } catch {
                    #expect(error.code == .invalidSubject, "\(error)")
                }
            }
            #expect(await c.flush())
        }
    }

    @Test("wrong credentials are an authorization error naming what to check; right ones connect")
    func authorization() async throws {
        try await Self.withServer(.nats(user: "corral", password: "s3cret")) { server, _ in
            for url in ["nats://corral:wrong@127.0.0.1:\(server.port)", "nats://127.0.0.1:\(server.port)"] {
                do throws(NATSError) {
                    let c = try await NATSConnection.connect(try NATSOptions(url: url))
                    c.close()
                    Issue.record("\(url) connected")
                } catch {
                    #expect(error.code == .authorizationFailed, "\(url): \(error)")
                    #expect(error.message.contains("credentials"), "\(error.message)")
                    #expect(!error.message.contains("wrong"), "the password is not repeated in the message: \(error.message)")
                }
            }
            let good = try await NATSConnection.connect(try NATSOptions(url: "nats://corral:s3cret@127.0.0.1:\(server.port)"))
            #expect(good.connectionState == .connected)
            good.close()
        }
        try await Self.withServer(.nats(token: "t0ken")) { server, _ in
            let good = try await NATSConnection.connect(try NATSOptions(url: "nats://t0ken@127.0.0.1:\(server.port)"))
            #expect(await good.flush())
            good.close()
        }
    }

    @Test("unreachable servers and bad URLs fail fast with what to do")
    func connectFailures() async throws {
        let port = LocalServer.freePort()
        do throws(NATSError) { _ = try await NATSConnection.connect(NATSOptions(host: "127.0.0.1", port: port)); Issue.record("connected to nothing") } catch {
            #expect(error.code == .connectionFailed && error.message.contains("127.0.0.1:\(port)"), "\(error)")
        }
        for url in ["http://x:4222", "nats://", "not a url", "nats://h:99999", "tls://h:4222"] {
            #expect(throws: NATSError.self, "\(url)") { _ = try NATSOptions(url: url) }
        }
        let options = try NATSOptions(url: "nats://u:p%40ss@example.org")
        #expect(options.user == "u" && options.password == "p@ss" && options.port == 4222 && options.redactedURL == "nats://example.org:4222")
    }

    @Test("drain: subscriptions end, what was published reaches the server, then the connection closes")
    func drain() async throws {
        try await Self.withServer { _, options in
            let a = try await NATSConnection.connect(options), b = try await NATSConnection.connect(options)
            defer { b.close() }
            let sub = try b.subscribe("drained")
            #expect(await b.flush())
            let counter = Task { var n = 0; for await _ in sub { n += 1 }; return n }
            for i in 0..<1000 { try a.publish("drained", payload: Array("\(i)".utf8)) }
            await a.drain()
            #expect(a.connectionState == .closed)
            #expect(throws: NATSError.self) { try a.publish("drained", payload: []) }
            #expect(await b.flush())
            sub.unsubscribe()
            #expect(await counter.value == 1000)
        }
    }
}

struct NATSTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
