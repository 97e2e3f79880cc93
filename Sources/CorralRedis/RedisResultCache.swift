import CorralSandbox
import CorralStore
import Foundation
import Logging

/// The result cache of a fleet, shared by its instances through Redis: a run one instance made is
/// a hit on every other. Guarded by a circuit breaker: while Redis is down every lookup is a miss
/// and nothing is stored, so runs go on without the cache and never wait on a dead server.
/// Calls are not retried: a miss costs less than a wait.
public final class RedisResultCache: ResultCache {
    public let redis: RedisConnection
    public let breaker: CircuitBreaker
    /// Every key starts with it (`corral:result:<key>`), so fleets and other programs can share a Redis.
    public let keyPrefix: String
    let logger: Logger

    public init(redis: RedisConnection, keyPrefix: String, breaker: CircuitBreaker, logger: Logger) {
        self.redis = redis
        self.keyPrefix = keyPrefix
        self.breaker = breaker
        self.logger = logger
    }

    func redisKey(_ key: String) -> String { keyPrefix + "result:" + key }

    public func get(_ key: String) async -> RunResult? {
        guard breaker.allow() else { return nil }
        let reply: RESPValue
        do throws(RedisError) { reply = try await redis.command(["GET", redisKey(key)]) } catch {
            breaker.recordFailure()
            logger.debug("Redis cache lookup failed", metadata: ["error": .string(error.message)])
            return nil
        }
        breaker.recordSuccess()
        guard case .bulk(let bytes?) = reply else { return nil }
        do { return try JSONDecoder().decode(RunResult.self, from: Data(bytes)) } catch {
            // Written by another version, or not by Corral: a miss, and the run overwrites it.
            logger.warning("unreadable cached result ignored", metadata: ["key": .string(redisKey(key)), "error": .string("\(error)")])
            return nil
        }
    }

    public func set(_ key: String, _ result: RunResult, ttlSeconds: Double) async {
        guard ttlSeconds.isFinite, ttlSeconds >= 0.001, breaker.allow() else { return }
        let value: Data
        do { value = try JSONEncoder().encode(result) } catch { return }
        let milliseconds = String(Int(min(ttlSeconds, 10 * 365 * 86_400) * 1000))
        do throws(RedisError) {
            _ = try await redis.command([Array("SET".utf8), Array(redisKey(key).utf8), [UInt8](value), Array("PX".utf8), Array(milliseconds.utf8)])
            breaker.recordSuccess()
        } catch {
            breaker.recordFailure()
            logger.debug("Redis cache store failed", metadata: ["error": .string(error.message)])
        }
    }
}
