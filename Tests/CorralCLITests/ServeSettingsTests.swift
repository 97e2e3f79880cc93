import Foundation
import Testing

/// `corral serve` refuses bad configuration from every source (flag, CORRAL_* environment, file)
/// with exit 64 and a message naming the value, before it binds anything.
@Suite struct ServeSettingsTests {
    static func writeConfig(_ json: String) throws -> String {
        let dir = try CorralCLI.temporaryDirectory()
        let path = dir.appendingPathComponent("corral.json").path
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test(arguments: [
        (#"{"port": 0, "wrokers": 3}"#, "unknown field(s) wrokers"),
        (#"{"port": 0, "workers": 0}"#, "workers = 0 is out of range"),
        (#"{"port": 0, "history": "postgres"}"#, "'postgres' is not a history store"),
        (#"{"port": 0, "log_level": "loud"}"#, "log level 'loud'"),
        (#"{"port": 0, "grace_seconds": -1}"#, "grace = -1.0 s is out of range"),
        (#"{"port": 0, "policy": "lenient"}"#, "\"policy\" = 'lenient' is not a policy mode"),
        (#"{"port": 0, "warm_pool": "lots"}"#, "\"warm_pool\" 'lots' is not a pool size"),
        (#"{"port": 0, "warm_pool": 65}"#, "\"warm_pool\" '65' is not a pool size"),
        (#"{"port": 0, "warm_pool_memory_mb": -1}"#, "warm pool memory = -1 MB is out of range"),
        (#"{"port": 0, "nats_url": "http://127.0.0.1:4222"}"#, "only nats:// URLs are supported"),
        (#"{"port": 0, "nats_url": "nats://127.0.0.1:4222", "agent_name": "coding agent"}"#, "--agent-name 'coding agent'"),
        (#"{"port": 0, "redis_url": "rediss://cache:6380"}"#, "is not a redis:// URL"),
        (#"{"port": 0, "postgres_url": "mysql://db/x"}"#, "not a postgresql:// URL"),
        (#"{"port": 0, "postgres_url": "postgresql://u@db/x", "postgres_max_pool_size": 0}"#, "\"postgres_max_pool_size\" is a whole number from 1 to 1000"),
        (#"{"port": 0, "circuit_breaker_timeout_seconds": 0}"#, "\"circuit_breaker_timeout_seconds\" is 0.1 to 86400"),
        (#"{"port": 0, "circuit_breaker_failure_threshold": 2.5}"#, "\"circuit_breaker_failure_threshold\" is a whole number"),
        (#"{"port": 0, "heartbeat_interval_seconds": "often"}"#, "\"heartbeat_interval_seconds\" must be a number of seconds"),
        (#"{"port": 0, "max_concurrent_tasks": true}"#, "\"max_concurrent_tasks\" must be a whole number"),
        (#"{"port": 0, "nats_ulr": "nats://x"}"#, "unknown field(s) nats_ulr"),
    ])
    func aBadConfigurationFileIsRefused(json: String, message: String) async throws {
        let out = try await CorralCLI.run(["serve", "--config", try Self.writeConfig(json)])
        #expect(out.exitCode == 64, "\(out.stderr)")
        #expect(out.stderr.contains(message), "\(out.stderr)")
    }

    @Test(arguments: [
        ("CORRAL_WORKERS", "0", "workers = 0 is out of range"),
        ("CORRAL_WORKERS", "many", "CORRAL_WORKERS=many is not an integer"),
        ("CORRAL_LOG_LEVEL", "loud", "log level 'loud'"),
        ("CORRAL_POLICY", "lenient", "CORRAL_POLICY = 'lenient' is not a policy mode"),
        ("CORRAL_WARM_POOL", "0.5", "CORRAL_WARM_POOL '0.5' is not a pool size"),
        ("NATS_URL", "nats://", "names no host"),
        ("REDIS_URL", "redis://cache:99999", "out of range"),
        ("POSTGRES_URL", "postgresql://db:5432/x", "no user"),
        ("CORRAL_MAX_CONCURRENT_TASKS", "0", "workers = 0 is out of range"),
        // A key's name owns sessions, tasks and history: "" is the owner of what was made without keys.
        ("CORRAL_API_KEYS", "=0123456789abcdef", "name is empty"),
        ("CORRAL_API_KEYS", "a=0123456789abcdef,a=fedcba9876543210", "the API key name 'a' is given twice"),
    ])
    func aBadEnvironmentValueIsRefused(key: String, value: String, message: String) async throws {
        let out = try await CorralCLI.run(["serve", "--port", "0"], environment: [key: value])
        #expect(out.exitCode == 64, "\(out.stderr)")
        #expect(out.stderr.contains(message), "\(out.stderr)")
    }

    @Test func aBadHistoryFlagIsRefused() async throws {
        let out = try await CorralCLI.run(["serve", "--port", "0", "--history", "redis"])
        #expect(out.exitCode == 64)
        #expect(out.stderr.contains("'redis' is not a history store"), "\(out.stderr)")
    }
}
