import CorralNATS
import Foundation

/// Fleet mode's settings (docs/fleet.md): the NATS, Redis and PostgreSQL servers an instance joins.
/// Seed 000's environment names (`NATS_URL`, `REDIS_URL`, `POSTGRES_URL`) are read as well as
/// `CORRAL_*` ones; a flag wins over the environment, which wins over the file.
struct FleetSettings {
    var natsURL: String?
    var redisURL: String?
    var postgresURL: String?
    var agentName = "coding_agent"
    var instanceID: String?
    var heartbeatIntervalSeconds: Double = 10
    var statusPublishIntervalSeconds: Double = 30
    /// Prefix of every Redis key, so that several fleets (or other programs) can share one Redis.
    var redisKeyPrefix = "corral:"

    /// The configuration file's fleet fields.
    static let fileFieldNames: Set<String> = [
        "nats_url", "redis_url", "postgres_url", "agent_name", "instance_id", "heartbeat_interval_seconds",
        "status_publish_interval_seconds", "max_concurrent_tasks", "redis_key_prefix",
    ]

    mutating func apply(file object: [String: Any]) throws {
        func string(_ key: String) throws -> String? {
            guard let v = object[key] else { return nil }
            guard let s = v as? String else { throw CLIFailure.usage("\"\(key)\" must be a string") }
            return s
        }
        func seconds(_ key: String) throws -> Double? {
            guard let v = object[key] else { return nil }
            guard let n = v as? NSNumber, String(cString: n.objCType) != "c" else { throw CLIFailure.usage("\"\(key)\" must be a number of seconds") }
            return n.doubleValue
        }
        if let v = try string("nats_url") { natsURL = v }
        if let v = try string("redis_url") { redisURL = v }
        if let v = try string("postgres_url") { postgresURL = v }
        if let v = try string("agent_name") { agentName = v }
        if let v = try string("instance_id") { instanceID = v }
        if let v = try string("redis_key_prefix") { redisKeyPrefix = v }
        if let v = try seconds("heartbeat_interval_seconds") { heartbeatIntervalSeconds = v }
        if let v = try seconds("status_publish_interval_seconds") { statusPublishIntervalSeconds = v }
    }

    mutating func apply(environment env: [String: String]) {
        if let v = env["CORRAL_NATS_URL"] ?? env["NATS_URL"] { natsURL = v }
        if let v = env["CORRAL_REDIS_URL"] ?? env["REDIS_URL"] { redisURL = v }
        if let v = env["CORRAL_POSTGRES_URL"] ?? env["POSTGRES_URL"] { postgresURL = v }
        if let v = env["CORRAL_AGENT_NAME"] { agentName = v }
        if let v = env["CORRAL_INSTANCE_ID"] { instanceID = v }
    }

    mutating func apply(flags: Corral.Serve) {
        if let v = flags.natsURL { natsURL = v }
        if let v = flags.redisURL { redisURL = v }
        if let v = flags.postgresURL { postgresURL = v }
        if let v = flags.agentName { agentName = v }
        if let v = flags.instanceID { instanceID = v }
    }

    /// The NATS service's configuration, checked (nil without a NATS URL).
    func natsConfiguration(workers: Int) throws -> NATSServiceConfiguration? {
        guard let url = natsURL, !url.isEmpty else { return nil }
        var c = NATSServiceConfiguration(url: url)
        c.agentName = agentName
        c.heartbeatIntervalSeconds = heartbeatIntervalSeconds
        c.statusPublishIntervalSeconds = statusPublishIntervalSeconds
        // Tasks in hand beyond the jails' queue would only wait; a few more than the workers keep them busy.
        c.maxInFlight = min(10_000, max(4, workers * 8))
        do { try c.validate() } catch { throw CLIFailure.usage(error.message) }
        return c
    }
}
