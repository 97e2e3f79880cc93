import ArgumentParser
import CorralEngine
import CorralHTTP
import CorralNATS
import CorralPostgres
import CorralRedis
import CorralRuntimes
import CorralSandbox
import CorralStore
import Foundation
import Logging
import ServiceLifecycle

extension Corral {
    /// `corral serve`: the execution service over HTTP on embedded defaults.
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve",
            abstract: "Serve the execution API over HTTP.",
            // One paragraph per line: ArgumentParser wraps lines itself, so a line break inside a
            // sentence shows as a break in the middle of --help's text.
            discussion: """
            Configuration comes from flags, then CORRAL_* environment variables, then an optional JSON file (--config or CORRAL_CONFIG), then defaults: 127.0.0.1:8080, history in DATA_DIR/history.sqlite. An unknown field in the file, or a value out of range from any source, is an error.

            Binding beyond loopback requires API keys.

            SIGTERM/SIGINT drain: no new requests, in-flight runs finish (or are killed after the grace period) and history is flushed.
            """)

        @Option(help: "Address to bind (default 127.0.0.1).") var host: String?
        @Option(help: "TCP port (default 8080; 0 picks a free one).") var port: Int?
        @Option(name: .customLong("data-dir"), help: "Directory of the history database (default /var/lib/corral as root).")
        var dataDirectory: String?
        // Numbers parse `.unconditional`ly: `--grace -1` is refused for its value, not as a missing one.
        @Option(parsing: .unconditional, help: "Jails running at once (default: number of cores).") var workers: Int?
        @Option(name: .customLong("queue"), parsing: .unconditional, help: "Requests waiting for a jail before 429 (default 32 per worker).")
        var queueCapacity: Int?
        @Option(name: .customLong("api-key"), help: ArgumentHelp("An API key, as KEY or NAME=KEY (repeatable).", valueName: "KEY"))
        var apiKeys: [String] = []
        @Option(help: "JSON configuration file.") var config: String?
        @Option(name: .customLong("history"), help: "History store: sqlite (default) or memory.") var historyBackend: String?
        @Option(name: .customLong("grace"), parsing: .unconditional, help: "Seconds in-flight runs get at shutdown before they are killed (default 30).")
        var graceSeconds: Double?
        @Option(name: .customLong("log-level"), help: "trace, debug, info (default), notice, warning, error.") var logLevel: String?
        @Option(name: .customLong("warm-pool"), help: ArgumentHelp(
            "Warm jails per interpreted language at most, or 'off' (default 4; pools grow with demand and empty when idle).",
            valueName: "N|off"))
        var warmPool: String?
        @Option(name: .customLong("warm-pool-memory"), parsing: .unconditional, help: "Memory all warm jails may hold together, in MB (default 160).")
        var warmPoolMemoryMB: Int?
        @Option(name: .customLong("fork-server"), help: ArgumentHelp(
            "Python runs as forks of a fork-server's zygote (docs/fork-server.md): 'on' (default) or 'off'.",
            valueName: "on|off"))
        var forkServer: String?
        @Option(name: .customLong("max-sessions"), parsing: .unconditional, help: "Sessions alive at once; one more is a 429 (default 16, 0 turns sessions off).")
        var maxSessions: Int?
        @Option(name: .customLong("session-max-timeout"), parsing: .unconditional, help: "The longest idle timeout a session may ask for, in seconds (default 86400).")
        var sessionMaxTimeout: Double?
        @Option(name: .customLong("allow-host-path"), help: ArgumentHelp(
            "A host directory sessions may mount (shadow or read-only), with what is under it (repeatable; none by default).", valueName: "DIR"))
        var allowHostPaths: [String] = []
        @Option(name: .customLong("max-running-tasks"), parsing: .unconditional, help: "Tasks running at once, each in its own session (default 4); the rest wait in order.")
        var maxRunningTasks: Int?
        @Option(name: .customLong("max-steps"), parsing: .unconditional, help: "Steps of one task (default 100).")
        var maxSteps: Int?
        @Option(name: .customLong("task-retention"), help: ArgumentHelp(
            "How long tasks are kept after they were created (finished ones only are deleted, with their directories): 30m, 12h, 7d (default), or 'forever'.", valueName: "AGE"))
        var taskRetention: String?
        @Option(name: .customLong("allow-callback-host"), help: ArgumentHelp(
            "A host a task's callback_url may name, as HOST or HOST:PORT (repeatable; none by default: callbacks are refused).", valueName: "HOST"))
        var allowCallbackHosts: [String] = []
        @Option(name: .customLong("policy"), help: ArgumentHelp(
            "Policy mode of requests that name none: off, warn (default) or strict. Strict is a floor: no request or profile lowers it.",
            valueName: "MODE"))
        var policyMode: String?

        @OptionGroup(title: "Code agent") var llm: LLMOptions

        @Option(name: .customLong("nats-url"), help: ArgumentHelp(
            "Join a fleet over NATS: serve seed 000's agent.<name>.task/status/health and $SRV.* (also NATS_URL).", valueName: "nats://HOST:PORT"))
        var natsURL: String?
        @Option(name: .customLong("agent-name"), help: "Seed 000's agent name in the NATS subjects and the service name (default coding_agent).")
        var agentName: String?
        @Option(name: .customLong("instance-id"), help: "This instance's agent_id in status reports (default corral-HOSTNAME).")
        var instanceID: String?
        @Option(name: .customLong("redis-url"), help: ArgumentHelp("Share the result cache through Redis (also REDIS_URL).", valueName: "redis://HOST:PORT"))
        var redisURL: String?
        @Option(name: .customLong("postgres-url"), help: ArgumentHelp("History in PostgreSQL (also POSTGRES_URL).", valueName: "postgresql://..."))
        var postgresURL: String?

        func run() async throws {
            let settings = try ServeSettings.resolve(self)
            let level = Logger.Level(rawValue: settings.logLevel) ?? .info
            LoggingSystem.bootstrap { JSONLogHandler(label: $0, level: level) }
            let logger = Logger(label: "corral")
            do { try settings.http.validate() } catch { throw CLIFailure.usage(error.description) }

            var sandboxConfiguration = Sandbox.Configuration()
            sandboxConfiguration.poolSize = settings.engine.workers
            let sandbox: Sandbox
            do { sandbox = try Sandbox(configuration: sandboxConfiguration) } catch {
                throw CLIFailure.corralFailed("cannot start the sandbox: \(error) (run 'corral doctor')")
            }
            let history: any HistoryStore
            let postgres: (SpillingHistoryStore, PostgresService)?
            do { postgres = try settings.fleet.postgresHistory(dataDirectory: settings.dataDirectory, logger: logger) } catch {
                sandbox.shutdown()
                throw error
            }
            if let (spilling, _) = postgres {
                history = spilling
            } else if settings.historyBackend == "memory" {
                history = InMemoryHistoryStore()
            } else {
                do { history = try SQLiteHistoryStore(path: settings.dataDirectory + "/history.sqlite") } catch {
                    throw CLIFailure.corralFailed("cannot open the history database in \(settings.dataDirectory): \(error); use --data-dir")
                }
            }
            let redisCache: RedisResultCache?
            do { redisCache = try settings.fleet.redisCache(logger: logger) } catch {
                sandbox.shutdown()
                throw error
            }
            // Refuses to start, naming the file, when the catalog, the rules or the profiles do not load.
            let engine: Engine
            do throws(EngineError) {
                engine = try Engine(configuration: settings.engine, sandbox: sandbox, history: history,
                                    cache: redisCache ?? MemoryResultCache(), logger: logger)
            } catch {
                sandbox.shutdown()
                throw CLIFailure(error)
            }
            if let redisCache { await FleetSettings.register(redisCache, in: engine, logger: logger) }
            if let (spilling, _) = postgres, let url = settings.fleet.postgresURL {
                FleetSettings.register(spilling, url: (try? PostgresHistoryStore.redact(url)) ?? "postgresql", in: engine)
            }
            let server = CorralServer(engine: engine, http: settings.http)
            let state = server.state
            var fleetServices: [ServiceGroupConfiguration.ServiceConfiguration] = []
            if let nats = try settings.fleet.natsConfiguration(workers: settings.engine.workers) {
                do {
                    let front = try NATSFront(engine: engine, configuration: nats, logger: logger,
                                              serviceState: { state.serviceState })
                    fleetServices.append(.init(service: front))
                } catch { throw CLIFailure.usage(error.message) }
            }
            let host = settings.http.host
            let app = server.application(logger: logger) { port in
                logger.info("listening", metadata: ["url": .string("http://\(host):\(port)"), "workers": .stringConvertible(settings.engine.workers)])
            }
            var groupConfiguration = ServiceGroupConfiguration(
                services: (postgres.map { [ServiceGroupConfiguration.ServiceConfiguration(service: $0.1)] } ?? []) + [
                    .init(service: EngineService(engine: engine, sandbox: sandbox, retention: settings.engine.retention, logger: logger)),
                    .init(service: app),
                ] + fleetServices + [
                    .init(service: DrainSignal(state: server.state, logger: logger)),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger)
            // After the grace period in-flight requests are cancelled: their jails are killed and the results recorded.
            // `settings` validated the grace (0...86400 s), so the conversion cannot trap.
            groupConfiguration.maximumGracefulShutdownDuration = .milliseconds(Int((settings.graceSeconds * 1000).rounded()))
            let interrupted = await engine.recoverTasks()
            if interrupted > 0 { logger.warning("tasks interrupted by a restart were marked failed", metadata: ["tasks": .stringConvertible(interrupted)]) }
            try await ServiceGroup(configuration: groupConfiguration).run()
        }
    }
}

/// Flushes history and stops the sandbox after the HTTP server has drained; prunes history hourly meanwhile.
struct EngineService: Service {
    let engine: Engine
    let sandbox: Sandbox
    let retention: RetentionPolicy
    let logger: Logger

    func run() async throws {
        // The history writer's retry loop and the hourly pruning run until shutdown; then the writer
        // is stopped and whatever it still holds is written (the HTTP server has drained by then).
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await engine.runHistoryWriter() }
            group.addTask {
                while !Task.isCancelled {
                    if let removed = try? await engine.history.prune(retention), removed > 0 {
                        logger.info("history pruned", metadata: ["rows": .stringConvertible(removed)])
                    }
                    let tasks = await engine.pruneTasks()
                    if tasks > 0 { logger.info("tasks pruned", metadata: ["tasks": .stringConvertible(tasks)]) }
                    try? await Task.sleep(for: .seconds(3600))
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        await engine.shutdown()
        sandbox.shutdown()
        logger.info("engine stopped: history flushed")
    }
}

/// The first part to hear of a shutdown: marks the server draining so `/readyz` fails at once.
struct DrainSignal: Service {
    let state: ServerState
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        state.beginDraining()
        logger.info("draining: finishing in-flight requests")
    }
}
