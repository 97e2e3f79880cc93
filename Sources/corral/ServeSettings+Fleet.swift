import CorralNATS
import CorralPostgres
import ServiceLifecycle
import CorralEngine
import CorralRedis
import CorralStore
import Logging
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
    /// Seed 000's circuit breaker settings, for every guarded connection (Redis).
    var breaker = CircuitBreaker.Settings()
    /// Seed 000's retry settings (max_retry_attempts, retry_base_delay_seconds, retry_max_delay_seconds).
    var retry = RetryPolicy()
    /// Seed 000's `postgres_max_pool_size`: connections to PostgreSQL at most.
    var postgresPoolSize = 8

    /// The configuration file's fleet fields.
    static let fileFieldNames: Set<String> = [
        "nats_url", "redis_url", "postgres_url", "agent_name", "instance_id", "heartbeat_interval_seconds",
        "status_publish_interval_seconds", "max_concurrent_tasks", "redis_key_prefix",
        "circuit_breaker_failure_threshold", "circuit_breaker_timeout_seconds", "circuit_breaker_half_open_max_calls",
        "postgres_max_pool_size", "max_retry_attempts", "retry_base_delay_seconds", "retry_max_delay_seconds",
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
        if let v = try seconds("circuit_breaker_timeout_seconds") {
            guard v.isFinite, v >= 0.1, v <= 86_400 else { throw CLIFailure.usage("\"circuit_breaker_timeout_seconds\" is 0.1 to 86400") }
            breaker.timeoutSeconds = v
        }
        if let v = try seconds("max_retry_attempts") {
            guard let n = Int(exactly: v) else { throw CLIFailure.usage("\"max_retry_attempts\" is a whole number from 1 to 100") }
            retry.maxAttempts = n
        }
        if let v = try seconds("retry_base_delay_seconds") { retry.baseDelaySeconds = v }
        if let v = try seconds("retry_max_delay_seconds") { retry.maxDelaySeconds = v }
        do { try retry.validate() } catch { throw CLIFailure.usage(error.reason) }
        if let v = try seconds("postgres_max_pool_size") {
            guard let n = Int(exactly: v), (1...1000).contains(n) else { throw CLIFailure.usage("\"postgres_max_pool_size\" is a whole number from 1 to 1000") }
            postgresPoolSize = n
        }
        for (key, path) in [("circuit_breaker_failure_threshold", \CircuitBreaker.Settings.failureThreshold),
                            ("circuit_breaker_half_open_max_calls", \CircuitBreaker.Settings.halfOpenMaxCalls)] {
            guard let v = try seconds(key) else { continue }
            guard let n = Int(exactly: v), (1...1000).contains(n) else { throw CLIFailure.usage("\"\(key)\" is a whole number from 1 to 1000") }
            breaker[keyPath: path] = n
        }
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

extension FleetSettings {
    /// The shared result cache of `--redis-url`, or nil.
    func redisCache(logger: Logger) throws -> RedisResultCache? {
        guard let url = redisURL, !url.isEmpty else { return nil }
        let options: RedisConnection.Options
        do { options = try RedisConnection.Options(url: url) } catch { throw CLIFailure.usage("--redis-url: \(error.message)") }
        guard !redisKeyPrefix.isEmpty, redisKeyPrefix.utf8.count <= 200 else {
            throw CLIFailure.usage("\"redis_key_prefix\" is 1 to 200 bytes")
        }
        let breaker = CircuitBreaker(name: "redis", settings: breaker) { name, state in
            logger.warning("circuit breaker changed state", metadata: ["connection": .string(name), "state": .string(state.rawValue)])
        }
        return RedisResultCache(redis: RedisConnection(options), keyPrefix: redisKeyPrefix, breaker: breaker, logger: logger)
    }

    /// Reports the cache's state in status and metrics, and says at start whether Redis answers
    /// (it is not required to: runs go on without the cache until it does).
    static func register(_ cache: RedisResultCache, in engine: Engine, logger: Logger) async {
        let url = cache.redis.options.redactedURL
        engine.connections.register("redis") {
            StatusReport.Connection(guardedBy: cache.breaker, reachable: cache.redis.isConnected, backend: url)
        }
        do throws(RedisError) {
            _ = try await cache.redis.command(["PING"])
            logger.info("Redis result cache connected", metadata: ["server": .string(url)])
        } catch {
            logger.warning("Redis unreachable; runs go on without the shared cache until it answers", metadata: ["error": .string(error.message)])
        }
    }
}

extension FleetSettings {
    /// History in PostgreSQL behind a spill file (`DATA_DIR/history-spill.sqlite`), or nil without
    /// `--postgres-url`; the service that runs its connections and its flusher.
    func postgresHistory(dataDirectory: String, logger: Logger) throws -> (SpillingHistoryStore, PostgresService)? {
        guard let url = postgresURL, !url.isEmpty else { return nil }
        let store: PostgresHistoryStore
        do { store = try PostgresHistoryStore(url: url, poolSize: postgresPoolSize, logger: logger) } catch {
            throw CLIFailure.usage("\(error)")
        }
        let breaker = CircuitBreaker(name: "postgres", settings: breaker) { name, state in
            logger.warning("circuit breaker changed state", metadata: ["connection": .string(name), "state": .string(state.rawValue)])
        }
        let spilling: SpillingHistoryStore
        do {
            spilling = try SpillingHistoryStore(primary: store, spillPath: dataDirectory + "/history-spill.sqlite", breaker: breaker,
                                                retry: retry, logger: logger)
        } catch {
            throw CLIFailure.corralFailed("cannot open the history spill file: \(error)")
        }
        return (spilling, PostgresService(store: store, spilling: spilling, retry: retry, logger: logger))
    }

    static func register(_ spilling: SpillingHistoryStore, url: String, in engine: Engine) {
        engine.connections.register("postgres") {
            StatusReport.Connection(guardedBy: spilling.breaker, reachable: spilling.isReachable, backend: url)
        }
    }
}

/// Runs PostgreSQL's connection pool and the spill file's flusher. First in the service group, so
/// it stops last: the engine's final history flush still reaches PostgreSQL (or the spill file).
struct PostgresService: Service {
    let store: PostgresHistoryStore
    let spilling: SpillingHistoryStore
    let retry: RetryPolicy
    let logger: Logger

    func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await store.run() }
            group.addTask {
                // The schema at start, tried max_retry_attempts times with seed 000's waits; after
                // that every call tries again first (history goes to the spill file meanwhile).
                for attempt in 0..<retry.maxAttempts {
                    do {
                        try await store.migrate()
                        break
                    } catch {
                        logger.warning("PostgreSQL not ready at start; history goes to the spill file until it is",
                                       metadata: ["error": .string("\(error)"), "attempt": .stringConvertible(attempt + 1)])
                        if attempt + 1 < retry.maxAttempts { try? await Task.sleep(nanoseconds: UInt64(retry.delay(attempt: attempt) * 1e9)) }
                    }
                }
                await spilling.run()
            }
            try? await gracefulShutdown()
            // A last pass over the spill file while the pool is still up.
            if spilling.spilledCount > 0 { _ = await spilling.flushBatch() }
            group.cancelAll()
        }
        if spilling.spilledCount > 0 {
            logger.warning("history records left in the spill file; written at the next start", metadata: ["records": .stringConvertible(spilling.spilledCount)])
        }
    }
}
