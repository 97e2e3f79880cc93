import CorralEngine
@testable import CorralNATS
import CorralNATSClient
import CorralStore
import CorralTestSupport
import Foundation
import Testing

/// Seed 000's NATS service: real nats-server, real jails, the seed's own client (nats-py).
@Suite(.serialized, .enabled(if: LocalServer.natsServerInstalled && TestSupport.jailsAvailable))
struct NATSFrontTests {
    @Test("seed 000's Python examples run verbatim with nats-py and get the seed's result shapes")
    func seedExamplesVerbatim() async throws {
        try await FleetFixture.run { fleet in
            let (status, output) = try FleetFixture.python("seed000_examples.py", [fleet.url, "--json"])
            #expect(status == 0, "\(output)")
            let summary = output.split(separator: "\n").last.map { FleetFixture.object(Array($0.utf8)) } ?? [:]
            #expect(summary.count == 8, "eight examples reported: \(output)")
            for (name, result) in summary {
                #expect((result as? [String: Any])?["ok"] as? Bool == true, "\(name): \(result)")
            }
        }
    }

    @Test("$SRV.PING, INFO and STATS answer with ADR-32's shapes (checked with nats-py); STATS counts the tasks")
    func serviceAPI() async throws {
        try await FleetFixture.run { fleet in
            let client = try await NATSConnection.connect(try NATSOptions(url: fleet.url))
            defer { client.close() }
            for _ in 0..<3 { _ = try await client.request("agent.coding_agent.task", payload: FleetFixture.task("list_languages", [:]), timeout: 10) }
            _ = try await client.request("agent.coding_agent.task", payload: Array("{".utf8), timeout: 10)
            let (status, output) = try FleetFixture.python("service_api_check.py", [fleet.url, "1"])
            #expect(status == 0, "\(output)")
            let last = FleetFixture.object(Array((output.split(separator: "\n").last ?? "").utf8))
            let stats = (last["stats"] as? [String: Any])?[fleet.front.serviceID] as? [String: Any]
            #expect(stats?["task"] as? Int == 4, "four task requests counted: \(last)")
            // The error is counted with its message.
            let raw = try await client.request("$SRV.STATS.coding_agent.\(fleet.front.serviceID)", payload: [], timeout: 5)
            let endpoints = FleetFixture.object(raw.payload)["endpoints"] as? [[String: Any]] ?? []
            let task = endpoints.first { $0["name"] as? String == "task" }
            #expect(task?["num_errors"] as? Int == 1 && (task?["last_error"] as? String ?? "").contains("not valid JSON"), "\(task ?? [:])")
        }
    }

    @Test("bad tasks get the seed's error object and ADR-32's error headers, saying what to fix; none runs code")
    func badInput() async throws {
        try await FleetFixture.run { fleet in
            let client = try await NATSConnection.connect(try NATSOptions(url: fleet.url))
            defer { client.close() }
            let cases: [(String, [UInt8], String, String?)] = [
                ("not JSON", Array("{oops".utf8), "not valid JSON", nil),
                ("a list", Array("[1,2]".utf8), "JSON object", nil),
                ("unknown task_type", FleetFixture.task("run_everything", [:], id: "t1"), "unknown task_type 'run_everything'", "t1"),
                ("task_type missing", Array(#"{"task_id":"t2","payload":{}}"#.utf8), "task_type", "t2"),
                ("code not a string", FleetFixture.task("execute_code", ["code": 42, "language": "python"], id: "t3"), "'code' must be a string", "t3"),
                ("unknown payload field", FleetFixture.task("execute_code", ["code": "print(1)", "language": "python", "tiemout": 3], id: "t4"), "unknown field 'tiemout'", "t4"),
                ("unknown language", FleetFixture.task("execute_code", ["code": "1", "language": "cobol"], id: "t5"), "cobol", "t5"),
                ("limit out of range", FleetFixture.task("get_execution_history", ["limit": 5000], id: "t6"), "limit is 1 to 1000", "t6"),
                ("limit not whole", FleetFixture.task("get_execution_history", ["limit": 2.5], id: "t7"), "whole number", "t7"),
                ("bad priority", Array(#"{"task_id":"t8","task_type":"list_languages","payload":{},"priority":"URGENT"}"#.utf8), "LOW, MEDIUM, HIGH, CRITICAL", "t8"),
                ("payload not an object", Array(#"{"task_id":"t9","task_type":"list_languages","payload":[1]}"#.utf8), "payload must be a JSON object", "t9"),
                ("unknown envelope field", Array(#"{"task_id":"t10","task_type":"list_languages","paylaod":{}}"#.utf8), "unknown field 'paylaod'", "t10"),
            ]
            for (name, payload, message, id) in cases {
                let reply = try await client.request("agent.coding_agent.task", payload: payload, timeout: 10)
                let body = FleetFixture.object(reply.payload)
                #expect(body["status"] as? String == "error", "\(name): \(body)")
                #expect((body["error"] as? String ?? "").contains(message), "\(name): \(body)")
                #expect(body["task_id"] as? String == id, "\(name): the reply names the task: \(body)")
                #expect(reply.headers?["Nats-Service-Error-Code"] == "400", "\(name): \(String(describing: reply.headers))")
                #expect(reply.headers?["Nats-Service-Error"] == body["error"] as? String, "\(name)")
            }
            #expect(fleet.engine.metrics.snapshot().total == 0, "no bad task ran anything")
        }
    }

    @Test("300 random and hostile task messages (a fuzzer's, seeded): each is answered in the seed's shape, errors are 4xx, and the service still runs a good task")
    func fuzzedTasks() async throws {
        try await FleetFixture.run { fleet in
            let (status, output) = try FleetFixture.python("nats_fuzz.py", [fleet.url, "300", "20261201"], timeout: 600)
            #expect(status == 0, "\(output.suffix(3000))")
            let summary = FleetFixture.object(Array((output.split(separator: "\n").last ?? "").utf8))
            #expect(summary["violations"] as? Int == 0 && summary["alive"] as? Bool == true, "\(summary)")
            let statuses = summary["statuses"] as? [String: Int] ?? [:]
            #expect((statuses["error"] ?? 0) > 100 && (statuses["success"] ?? 0) > 5, "both kinds of answer were exercised: \(statuses)")
        }
    }

    /// What a publisher puts in a task's reply subject or fields, aimed at Corral's own connection
    /// and rights: a reply subject that starts with a combining mark (the MSG line was refused and
    /// every instance's connection dropped), an error message with CR/LF that added headers to the
    /// error reply, and a reply subject where Corral publishes with rights its requesters lack.
    @Test("hostile reply subjects and field text: the connection stays up, no header is added, Corral answers no subject of its own or a $ API")
    func hostileReplySubjects() async throws {
        try await FleetFixture.run { fleet in
            let client = try await NATSConnection.connect(try NATSOptions(url: fleet.url))
            defer { client.close() }
            let joined = "\u{301}r"
            let answers = try client.subscribe(joined)
            #expect(await client.flush())
            try client.publish("agent.coding_agent.status", payload: Array("{}".utf8), replyTo: joined)
            var iterator = answers.makeAsyncIterator()
            let status = await iterator.next()
            let statusBody = FleetFixture.object(status?.payload ?? [])
            #expect(!statusBody.isEmpty, "status answered on '\(joined)'")
            #expect(fleet.front.natsConnection?.reconnectCount == 0, "Corral's connection was not dropped")

            let injected = FleetFixture.task("x\r\nNats-Service-Error-Code: 200\r\nX: y", [:], id: "c1")
            let reply = try await client.request("agent.coding_agent.task", payload: injected, timeout: 10)
            #expect(reply.headers?["Nats-Service-Error-Code"] == "400", "\(String(describing: reply.headers))")
            #expect(reply.headers?.fields.count == 2, "\(String(describing: reply.headers))")

            // Corral's own subjects and the $ APIs are no reply subjects: such tasks are dropped unrun.
            let own = try client.subscribe("agent.coding_agent.heartbeat")
            let api = try client.subscribe("$JS.API.STREAM.CREATE.x")
            #expect(await client.flush())
            for (subject, id) in [("agent.coding_agent.heartbeat", "d1"), ("$JS.API.STREAM.CREATE.x", "d2")] {
                try client.publish("agent.coding_agent.task", payload: FleetFixture.task("list_languages", [:], id: id), replyTo: subject)
            }
            #expect(await client.flush())
            try await Task.sleep(nanoseconds: 1_000_000_000)
            own.unsubscribe()
            api.unsubscribe()
            for subscription in [own, api] {
                for await message in subscription {
                    let body = FleetFixture.object(message.payload)
                    #expect(body["task_id"] == nil, "a task's reply reached \(message.subject): \(body)")
                }
            }
            let after = try await client.request("agent.coding_agent.task", payload: FleetFixture.task("list_languages", [:], id: "d4"), timeout: 10)
            #expect(FleetFixture.object(after.payload)["task_id"] as? String == "d4", "the service goes on")
        }
    }

    @Test("reply subjects Corral answers: inboxes; not its own agent subjects, a $ API, a wildcard or an empty token")
    func replySubjectRule() {
        for ok in ["_INBOX.abc.def", "_INBOX_alice.x", "replies.client1", "\u{301}r"] { #expect(NATSFront.isReplySubject(ok), "\(ok)") }
        for refused in ["agent.coding_agent.heartbeat", "agent.other.task", "$JS.API.INFO", "$SRV.PING", "_INBOX.*", "_INBOX.>",
                        "a..b", ".a", "a.", ""] {
            #expect(!NATSFront.isReplySubject(refused), "\(refused)")
        }
    }

    @Test("a task without a reply subject is logged and dropped without running; the service goes on")
    func noReplySubject() async throws {
        try await FleetFixture.run { fleet in
            let client = try await NATSConnection.connect(try NATSOptions(url: fleet.url))
            defer { client.close() }
            try client.publish("agent.coding_agent.task", payload: FleetFixture.task("execute_code", ["code": "print('fire and forget')", "language": "python"]))
            #expect(await client.flush())
            try await Task.sleep(nanoseconds: 300_000_000)
            #expect(fleet.engine.metrics.snapshot().total == 0, "nothing ran for a task nobody could read the answer of")
            let reply = try await client.request("agent.coding_agent.task", payload: FleetFixture.task("execute_code", ["code": "print(7)", "language": "python"]), timeout: 20)
            let result = FleetFixture.object(reply.payload)["result"] as? [String: Any]
            #expect(result?["stdout"] as? String == "7\n")
        }
    }

    @Test("at the max_payload boundary: a request above it is refused by the client, a result above it becomes a 413 error reply")
    func payloadBoundary() async throws {
        try await FleetFixture.run { fleet in
            let client = try await NATSConnection.connect(try NATSOptions(url: fleet.url))
            defer { client.close() }
            let max = client.maxPayload
            let huge = FleetFixture.task("execute_code", ["code": "#" + String(repeating: "x", count: max), "language": "python"])
            do throws(NATSError) {
                _ = try await client.request("agent.coding_agent.task", payload: huge, timeout: 5)
                Issue.record("a message above max_payload was sent")
            } catch {
                #expect(error.code == .payloadTooLarge, "\(error)")
            }
            // 1.5 MB of output, allowed by max_output_size: the result cannot fit in one NATS message.
            let loud = FleetFixture.task("execute_code", ["code": "import sys; sys.stdout.write('y' * 1_500_000)", "language": "python",
                                                          "max_output_size": 4_000_000], id: "loud")
            let reply = try await client.request("agent.coding_agent.task", payload: loud, timeout: 30)
            let body = FleetFixture.object(reply.payload)
            #expect(body["status"] as? String == "error" && body["task_id"] as? String == "loud", "\(body)")
            #expect((body["error"] as? String ?? "").contains("max_payload"), "\(body)")
            #expect(reply.headers?["Nats-Service-Error-Code"] == "413")
        }
    }

    @Test("heartbeats and status publishes come on their intervals with the instance's figures")
    func heartbeatAndStatusPublish() async throws {
        try await FleetFixture.run(configure: { $0.heartbeatIntervalSeconds = 0.2; $0.statusPublishIntervalSeconds = 0.3 }) { fleet in
            let client = try await NATSConnection.connect(try NATSOptions(url: fleet.url))
            defer { client.close() }
            let beats = try client.subscribe("agent.coding_agent.heartbeat"), updates = try client.subscribe("agent.coding_agent.status.update")
            #expect(await client.flush())
            var beatIterator = beats.makeAsyncIterator(), updateIterator = updates.makeAsyncIterator()
            let first = await beatIterator.next(), second = await beatIterator.next()
            let beat = FleetFixture.object(first?.payload ?? [])
            #expect(beat["service_id"] as? String == fleet.front.serviceID && beat["state"] as? String == "running", "\(beat)")
            #expect(beat["tasks_in_flight"] as? Int == 0 && beat["uptime_seconds"] is Double, "\(beat)")
            #expect(second != nil)
            let update = FleetFixture.object(await updateIterator.next()?.payload ?? [])
            let connections = update["connections"] as? [String: Any]
            #expect((connections?["nats"] as? [String: Any])?["state"] as? String == "connected", "\(update)")
            beats.unsubscribe(); updates.unsubscribe()
        }
    }

    @Test("graceful shutdown: a task in hand is finished and answered before the connection drains")
    func gracefulDrain() async throws {
        let nats = LocalServer.nats()
        try nats.start()
        defer { nats.remove() }
        let (engine, dataDirectory) = try FleetFixture.engine()
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let front = try NATSFront(engine: engine, configuration: NATSServiceConfiguration(url: "nats://127.0.0.1:\(nats.port)"), logger: .init(label: "t"))
        let group = ServiceGroupRunner(front)
        let fixture = FleetFixture(engine: engine, front: front, nats: nats, dataDirectory: dataDirectory)
        try await fixture.waitUntilServing()
        let client = try await NATSConnection.connect(NATSOptions(host: "127.0.0.1", port: nats.port))
        defer { client.close() }
        let slow = Task {
            try await client.request("agent.coding_agent.task",
                                     payload: FleetFixture.task("execute_code", ["code": "import time; time.sleep(1); print('done')", "language": "python"]), timeout: 20)
        }
        try await Task.sleep(nanoseconds: 400_000_000)
        await group.shutdown()
        let reply = FleetFixture.object(try await slow.value.payload)
        #expect((reply["result"] as? [String: Any])?["stdout"] as? String == "done\n", "\(reply)")
        do throws(NATSError) {
            _ = try await client.request("agent.coding_agent.task", payload: FleetFixture.task("list_languages", [:]), timeout: 2)
            Issue.record("a drained instance still answered")
        } catch {
            #expect(error.code == .noResponders, "\(error)")
        }
        engine.sessions.shutdown()
    }
}
