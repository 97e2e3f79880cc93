import CorralEngine
import CorralPolicy
import CorralSandbox
import CorralStore
import Foundation
import Logging

/// The engine a CLI command runs on: the same `Engine` as `corral serve`, built for one caller.
/// One worker, no result cache, no static analysis unless the command asks for it (`--strict`,
/// `--profile`), and the history the command names (in memory unless told otherwise).
struct LocalEngine {
    let engine: Engine
    let sandbox: Sandbox

    /// Starts a sandbox without a pool (one run: a pool would only clone jails nobody uses) and an
    /// engine over it. Exit 125 naming the file when the catalog, rules or profiles do not load.
    static func start(history: any HistoryStore, environment: [String: String] = ProcessInfo.processInfo.environment,
                      configure: (inout EngineConfiguration) -> Void = { _ in }) throws -> LocalEngine {
        var sandboxConfiguration = Sandbox.Configuration()
        sandboxConfiguration.poolSize = 0
        let sandbox: Sandbox
        do { sandbox = try Sandbox(configuration: sandboxConfiguration) } catch {
            throw CLIFailure.corralFailed("cannot start the sandbox: \(error) (run 'corral doctor')")
        }
        var configuration = EngineConfiguration.local
        configuration.applyResourceEnvironment(environment)
        configure(&configuration)
        do {
            // The command prints its own output; the engine's per-run log lines are for a service.
            let quiet = Logger(label: "corral.cli") { _ in SwiftLogNoOpLogHandler() }
            let engine = try Engine(configuration: configuration, sandbox: sandbox, history: history, logger: quiet)
            return LocalEngine(engine: engine, sandbox: sandbox)
        } catch {
            sandbox.shutdown()
            throw CLIFailure(error)
        }
    }

    /// Flushes history and stops the sandbox; every jail has been reaped by then.
    func stop() async {
        await engine.shutdown()
        sandbox.shutdown()
    }

    /// Runs `body` on the engine and stops it afterwards, whether `body` returned or threw.
    func use<T>(_ body: (Engine) async throws -> T) async throws -> T {
        let value: T
        do { value = try await body(engine) } catch {
            await stop()
            throw error
        }
        await stop()
        return value
    }
}

extension EngineConfiguration {
    /// A CLI command's engine: one caller, one jail at a time, nothing cached between runs,
    /// policy off unless the request asks (`--strict`, or a profile's own mode).
    static var local: EngineConfiguration {
        var configuration = EngineConfiguration()
        configuration.workers = 1
        configuration.queueCapacity = 1
        configuration.cacheEnabled = false
        configuration.policyMode = .off
        configuration.loadsPolicyOnFirstUse = true
        // One validation per process: a warm worker would only add a jail that outlives its use.
        configuration.analyzerWorkers = nil
        return configuration
    }

    /// The data files the environment points at: `CORRAL_LANGUAGES` (a catalog file),
    /// `CORRAL_POLICY_RESOURCES` (a directory of rules and profiles) and `CORRAL_COMPILE_CACHE`. Read by the CLI only: the
    /// engine takes its configuration from this struct, never from the environment.
    mutating func applyResourceEnvironment(_ environment: [String: String]) {
        if let path = environment["CORRAL_LANGUAGES"] { languageCatalogFile = path }
        if let path = environment["CORRAL_POLICY_RESOURCES"] { policyResourcesDirectory = path }
        if let path = environment["CORRAL_COMPILE_CACHE"] { compileCacheDirectory = path }
    }
}
