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
