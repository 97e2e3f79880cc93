import CorralEngine
import CorralNATSClient
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Seed 000's NATS service over the engine: `agent.<name>.task` in a queue group shared by every
/// instance (so work spreads), `agent.<name>.status` and `.health` answered, a heartbeat and a
/// status publish on their intervals, and the NATS service API (`$SRV.PING|INFO|STATS`, ADR-32)
/// so NATS tooling finds and monitors each instance. NATS down does not stop the instance: HTTP
/// goes on, and the client reconnects (and resubscribes) by itself.
public final class NATSFront: Service, Sendable {
    let engine: Engine
    let configuration: NATSServiceConfiguration
    let options: NATSOptions
    let logger: Logger
    /// ADR-32's instance id: unique per process, so two instances on one host are told apart.
    public let serviceID = "corral-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(20).lowercased()
    let started = Date()
    let statistics = EndpointStatistics()
    let serviceState: @Sendable () -> ServiceState
    let connection = Mutex<NATSConnection?>(nil)
    let inFlight = Mutex(0)

    /// Endpoint names of `$SRV.INFO`/`STATS`, with their subjects.
    var endpoints: [(name: String, subject: String, queue: String?)] {
        [("task", configuration.taskSubject, configuration.queueGroup), ("status", configuration.statusSubject, nil),
         ("health", configuration.healthSubject, nil)]
    }

    /// `serviceState` says whether the instance is draining (the HTTP server's state).
    public init(engine: Engine, configuration: NATSServiceConfiguration, logger: Logger,
                serviceState: @escaping @Sendable () -> ServiceState = { .running }) throws(NATSServiceError) {
        try configuration.validate()
        do { options = try NATSOptions(url: configuration.url) } catch { throw NATSServiceError("--nats-url: \(error.message)") }
        self.engine = engine
        self.configuration = configuration
        self.logger = logger
        self.serviceState = serviceState
        let url = options.redactedURL
        engine.connections.register("nats") { [weak self] in
            let state: StatusReport.Connection.State = self?.natsConnection?.connectionState == .connected ? .connected : .disconnected
            return StatusReport.Connection(state: state, backend: url)
        }
    }

    /// The live connection (nil until the first connect succeeded).
    public var natsConnection: NATSConnection? { connection.withLock { $0 } }

    public func run() async throws {
        guard let nats = await connectUntilShutdown() else { return }
        connection.withLock { $0 = nats }
        defer { connection.withLock { $0 = nil } }
        let tasks: NATSSubscription, requests: [(String, NATSSubscription)]
        do throws(NATSError) {
            tasks = try nats.subscribe(configuration.taskSubject, queue: configuration.queueGroup)
            var r = [("status", try nats.subscribe(configuration.statusSubject)), ("health", try nats.subscribe(configuration.healthSubject))]
            for verb in ["PING", "INFO", "STATS"] {
                for subject in ["$SRV.\(verb)", "$SRV.\(verb).\(configuration.agentName)", "$SRV.\(verb).\(configuration.agentName).\(serviceID)"] {
                    r.append(("$SRV." + verb, try nats.subscribe(subject)))
                }
            }
            requests = r
        } catch {
            nats.close()
            throw NATSServiceError("cannot subscribe on \(options.redactedURL): \(error.message)")
        }
        _ = await nats.flush()
        logger.info("NATS service ready", metadata: [
            "server": .string(options.redactedURL), "subject": .string(configuration.taskSubject),
            "queue_group": .string(configuration.queueGroup), "service_id": .string(serviceID)])
        let beats = Task { await self.publishBeats(nats) }
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.serveTasks(tasks, nats) }
                for (kind, subscription) in requests {
                    group.addTask { await self.serveRequests(kind, subscription, nats) }
                }
            }
        } onGracefulShutdown: {
            // No new task is taken; those in hand finish and are answered before the drain.
            tasks.unsubscribe()
            for (_, subscription) in requests { subscription.unsubscribe() }
        }
        beats.cancel()
        await nats.drain()
        logger.info("NATS service drained", metadata: ["server": .string(options.redactedURL)])
    }

    /// The first connection, retried with growing waits (up to 2 s) while NATS is down; nil when
    /// shutdown comes first. Wrong credentials are said once at error level and retried.
    func connectUntilShutdown() async -> NATSConnection? {
        var wait = 0.05
        var attempts = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            attempts += 1
            do throws(NATSError) {
                return try await NATSConnection.connect(options, logger: logger)
            } catch {
                if attempts == 1 || attempts % 30 == 0 {
                    let level: Logger.Level = error.code == .authorizationFailed ? .error : .warning
                    logger.log(level: level, "NATS unreachable; HTTP goes on, retrying", metadata: [
                        "error": .string(error.message), "attempts": .stringConvertible(attempts)])
                }
            }
            try? await Task.sleep(nanoseconds: UInt64(wait * 1e9))
            wait = min(wait * 2, 2)
        }
        return nil
    }
}
