@testable import CorralEngine
import CorralPolicy
import CorralRuntimes
import CorralSandbox
import CorralStore
import CorralTestSupport
import Foundation
import Glibc
import Testing

/// Engines and resolvers for the engine's tests: the shipped catalog, rules and profiles, the
/// test process's one sandbox, and copies of the policy data to break.
enum EngineFixtures {
    /// The configuration of a test engine: `workers` jails, no result cache unless asked, policy off unless asked.
    static func configuration(workers: Int = 1, policyMode: PolicyMode = .off, cacheEnabled: Bool = false) -> EngineConfiguration {
        var configuration = EngineConfiguration()
        configuration.workers = workers
        configuration.queueCapacity = 64
        configuration.cacheEnabled = cacheEnabled
        configuration.policyMode = policyMode
        return configuration
    }

    /// An engine over the test process's sandbox with an in-memory history.
    static func engine(_ configuration: EngineConfiguration = configuration(), validator: PolicyValidator? = nil) throws -> Engine {
        try Engine(configuration: configuration, runtime: TestSupport.runtime, history: InMemoryHistoryStore(), validator: validator)
    }

    /// The resolver an engine with `configuration` would use, without a sandbox.
    static func resolver(_ configuration: EngineConfiguration = configuration()) throws -> RequestResolver {
        var resolved = configuration
        resolved.profiles = try EngineResources.profiles(configuration)
        return RequestResolver(configuration: resolved, catalog: try EngineResources.catalog(configuration))
    }

    /// The package's own directory (tests read the shipped data files from the source tree).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A fresh copy of CorralPolicy's shipped `Resources/` in a temporary directory, to break.
    static func policyResourcesCopy() throws -> URL {
        let source = packageRoot.appendingPathComponent("Sources/CorralPolicy/Resources")
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("corral-policy-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: source, to: copy)
        return copy
    }

    /// CLOCK_MONOTONIC in seconds: the clock Python's `time.monotonic()` reads (no time namespace in a jail).
    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

extension ExecuteRequest {
    /// A request for `code` in `language` with the given tweaks.
    static func make(_ language: String, _ code: String, _ tweak: (inout ExecuteRequest) -> Void = { _ in }) -> ExecuteRequest {
        var request = ExecuteRequest(code: code, language: language)
        tweak(&request)
        return request
    }
}

/// The `EngineError` a throwing call threw, or nil when it returned (another error is an issue).
func engineError<T>(_ body: () throws -> T) -> EngineError? {
    do { _ = try body(); return nil } catch let error as EngineError { return error } catch {
        Issue.record("not an EngineError: \(error)")
        return nil
    }
}

func engineErrorAsync<T>(_ body: () async throws -> T) async -> EngineError? {
    do { _ = try await body(); return nil } catch let error as EngineError { return error } catch {
        Issue.record("not an EngineError: \(error)")
        return nil
    }
}
