import CorralTestSupport
import Foundation
import Testing

/// Fleet mode end to end: two `corral serve` instances on one nats-server, PostgreSQL and Redis,
/// driven by seed 000's client (nats-py), with an instance killed and servers stopped under load.
@Suite(.serialized, .enabled(if: FleetHarness.available))
struct FleetTests {
    @Test("600 seed requests at concurrency 16 spread over two instances (each ≥ 30%); a repeat is a cache hit on the other instance; SIGKILL of one mid-load: every retried request succeeds and every acknowledged execution is in PostgreSQL")
    func scaleOut() throws {
        let fleet = try FleetHarness()
        defer { fleet.stop() }
        let a = try fleet.startInstance("corral-a"), b = try fleet.startInstance("corral-b")

        let spread = try fleet.python("fleet_load.py", [fleet.natsURL, "--count", "600", "--concurrency", "16", "--prefix", "spread"]).finish()
        let spreadSummary = RunningScript.summary(spread.1)
        #expect(spread.0 == 0 && spreadSummary["ok"] as? Int == 600, "\(spread.1.suffix(2000))")
        let check = try fleet.python("service_api_check.py", [fleet.natsURL, "2"]).finish()
        #expect(check.0 == 0, "ADR-32 answers of both instances: \(check.1.suffix(3000))")
        let stats = RunningScript.summary(check.1)["stats"] as? [String: [String: Int]] ?? [:]
        let served = stats.values.map { $0["task"] ?? 0 }
        #expect(served.count == 2 && served.allSatisfy { $0 >= 180 }, "each instance serves at least 30% of 600: \(served)")

        // The shared cache: run on A, repeat on B.
        let program: [String: Any] = ["language": "python", "code": "print('shared cache \(UUID().uuidString)')"]
        let first = FleetHarness.execute(a, program), repeated = FleetHarness.execute(b, program)
        #expect(first["cached"] as? Bool == false && first["status"] as? String == "success", "\(first)")
        #expect(repeated["cached"] as? Bool == true && repeated["stdout"] as? String == first["stdout"] as? String, "B replays A's run from Redis: \(repeated)")

        // SIGKILL B once 50 requests have been answered; the client retries what timed out.
        let pid = try #require(b.pid)
        let load = try fleet.python("fleet_load.py", [fleet.natsURL, "--count", "200", "--concurrency", "16", "--prefix", "kill",
                                                      "--timeout", "4", "--attempts", "4", "--kill-pid", String(pid), "--kill-at", "50"]).finish()
        let killSummary = RunningScript.summary(load.1)
        #expect(killSummary["killed"] as? Bool == true, "\(load.1.suffix(2000))")
        #expect(load.0 == 0 && killSummary["ok"] as? Int == 200 && killSummary["failed"] as? Int == 0, "\(load.1.suffix(2000))")

        // Every acknowledged execution is in PostgreSQL (the survivor's last writes may take a moment).
        let ids = (spreadSummary["execution_ids"] as? [String] ?? []) + (killSummary["execution_ids"] as? [String] ?? [])
        #expect(ids.count == 800)
        var stored = 0
        try? fleet.waitFor("all acknowledged executions are in PostgreSQL", timeout: 15) {
            stored = (try? fleet.executionsInPostgres(ids)) ?? 0
            return stored == ids.count
        }
        #expect(stored == ids.count, "\(stored) of \(ids.count) acknowledged executions in PostgreSQL")
        // The history is the fleet's: A answers with B's rows too.
        let history = FleetHarness.curl(["-s", "http://127.0.0.1:\(a.port)/v1/executions?limit=1"]).1
        let total = ((try? JSONSerialization.jsonObject(with: Data(history.utf8))) as? [String: Any])?["total"] as? Int ?? 0
        #expect(total >= 800, "A's history holds the whole fleet's executions: \(total)")
        // A new instance on B's data directory cleans what the killed one left and joins.
        _ = try fleet.startInstance("corral-b2", dataDirectory: b.directory + "/data")
    }

    @Test("PostgreSQL stopped for 10 s under load: no execution fails, the breaker opens and closes, and the history is complete after recovery")
    func postgresOutage() throws {
        let fleet = try FleetHarness()
        defer { fleet.stop() }
        let instance = try fleet.startInstance("corral-pg")
        let load = try fleet.python("fleet_load.py", [fleet.natsURL, "--duration", "22", "--concurrency", "6", "--prefix", "pg"])
        sleep(4)
        fleet.postgres.stop()  // fast shutdown
        var opened = false
        try fleet.waitFor("the postgres breaker opens", timeout: 8) {
            opened = FleetHarness.connection("postgres", of: instance)?["circuit_breaker"] as? String == "open"
            return opened
        }
        sleep(8)  // 10 s down in all
        try fleet.postgres.start(timeout: 30)
        try fleet.waitFor("the postgres breaker closes and the connection is back", timeout: 20) {
            let c = FleetHarness.connection("postgres", of: instance)
            return c?["circuit_breaker"] as? String == "closed" && c?["state"] as? String == "connected"
        }
        let (status, output) = load.finish()
        let summary = RunningScript.summary(output)
        #expect(opened)
        #expect(status == 0 && summary["failed"] as? Int == 0 && (summary["ok"] as? Int ?? 0) > 20, "\(output.suffix(2000))")
        let ids = summary["execution_ids"] as? [String] ?? []
        var stored = 0
        try? fleet.waitFor("the spilled history reached PostgreSQL", timeout: 60) {
            stored = (try? fleet.executionsInPostgres(ids)) ?? 0
            return stored == ids.count
        }
        if stored != ids.count {
            let present = Set(((try? fleet.postgres.psql("SELECT execution_id FROM executions", database: "fleet")) ?? "").split(separator: "\n").map(String.init))
            let missing = ids.filter { !present.contains($0) }
            let metrics = FleetHarness.curl(["-s", "http://127.0.0.1:\(instance.port)/metrics"]).1.split(separator: "\n").filter { $0.contains("history") || $0.contains("postgres") }
            Issue.record("missing \(missing.prefix(5)); metrics: \(metrics); status: \(String(describing: FleetHarness.connection("postgres", of: instance))); log: \(instance.logTail.suffix(1200))")
        }
        #expect(stored == ids.count, "\(stored) of \(ids.count) executions in PostgreSQL after recovery")
    }

    @Test("Redis stopped under load: no execution fails, runs go on without the cache, the breaker opens and closes again")
    func redisOutage() throws {
        let fleet = try FleetHarness()
        defer { fleet.stop() }
        let instance = try fleet.startInstance("corral-redis")
        let load = try fleet.python("fleet_load.py", [fleet.natsURL, "--duration", "14", "--concurrency", "6", "--prefix", "redis"])
        sleep(3)
        fleet.redis.stop(kill: true)
        var opened = false
        try fleet.waitFor("the redis breaker opens", timeout: 8) {
            opened = FleetHarness.connection("redis", of: instance)?["circuit_breaker"] as? String == "open"
            return opened
        }
        sleep(3)
        try fleet.redis.start()
        try fleet.waitFor("the redis breaker closes", timeout: 20) {
            FleetHarness.connection("redis", of: instance)?["circuit_breaker"] as? String == "closed"
        }
        let (status, output) = load.finish()
        let summary = RunningScript.summary(output)
        #expect(opened)
        #expect(status == 0 && summary["failed"] as? Int == 0 && (summary["ok"] as? Int ?? 0) > 20, "\(output.suffix(2000))")
        let metrics = FleetHarness.curl(["-s", "http://127.0.0.1:\(instance.port)/metrics"]).1
        #expect(metrics.contains("corral_circuit_breaker_state{name=\"redis\"} 0") && metrics.contains("corral_connection_up{name=\"redis\"} 1"), "\(metrics.suffix(600))")
    }
}
