import CorralEngine
import Foundation

/// The bodies of health, heartbeat and the NATS service API (ADR-32: `io.nats.micro.v1.*`).
extension NATSFront {
    struct Health: Encodable {
        /// `healthy`; `degraded` when a configured server (PostgreSQL, Redis) is down and work goes
        /// on without it; `unhealthy` when draining.
        var status: String
        var agentId: String
        var serviceId: String
        var timestamp: Date
        var uptimeSeconds: Double
        var checks: [String: String]
        enum CodingKeys: String, CodingKey {
            case status, timestamp, checks
            case agentId = "agent_id", serviceId = "service_id", uptimeSeconds = "uptime_seconds"
        }
    }

    func health() -> Health {
        var checks: [String: String] = ["service": serviceState().rawValue]
        for name in ConnectionRegistry.fleetNames { checks[name] = engine.connections.state(of: name).state.rawValue }
        let degraded = engine.connections.degraded
        let status = serviceState() == .draining ? "unhealthy" : degraded.isEmpty ? "healthy" : "degraded"
        return Health(status: status, agentId: engine.configuration.instanceID, serviceId: serviceID, timestamp: Date(),
                      uptimeSeconds: Date().timeIntervalSince(started), checks: checks)
    }

    struct Heartbeat: Encodable {
        var agentId: String, serviceId: String, name: String, state: String
        var timestamp: Date
        var uptimeSeconds: Double
        var tasksInFlight: Int
        enum CodingKeys: String, CodingKey {
            case name, state, timestamp
            case agentId = "agent_id", serviceId = "service_id", uptimeSeconds = "uptime_seconds", tasksInFlight = "tasks_in_flight"
        }
    }

    func heartbeat() -> Heartbeat {
        Heartbeat(agentId: engine.configuration.instanceID, serviceId: serviceID, name: configuration.agentName,
                  state: serviceState().rawValue, timestamp: Date(), uptimeSeconds: Date().timeIntervalSince(started),
                  tasksInFlight: inFlight.withLock { $0 })
    }

    struct Ping: Encodable {
        var type = "io.nats.micro.v1.ping_response"
        var name: String, id: String, version: String
        var metadata: [String: String]
    }

    struct Info: Encodable {
        struct Endpoint: Encodable {
            var name: String, subject: String
            var queueGroup: String?
            var metadata: [String: String]
            enum CodingKeys: String, CodingKey { case name, subject, metadata, queueGroup = "queue_group" }
        }
        var type = "io.nats.micro.v1.info_response"
        var name: String, id: String, version: String
        var metadata: [String: String]
        var description: String
        var endpoints: [Endpoint]
    }

    struct Stats: Encodable {
        struct Endpoint: Encodable {
            var name: String, subject: String
            var queueGroup: String?
            var numRequests: Int, numErrors: Int
            var lastError: String
            /// Nanoseconds, as ADR-32 counts them.
            var processingTime: UInt64, averageProcessingTime: UInt64
            enum CodingKeys: String, CodingKey {
                case name, subject
                case queueGroup = "queue_group", numRequests = "num_requests", numErrors = "num_errors", lastError = "last_error"
                case processingTime = "processing_time", averageProcessingTime = "average_processing_time"
            }
        }
        var type = "io.nats.micro.v1.stats_response"
        var name: String, id: String, version: String
        var metadata: [String: String]
        var started: String
        var endpoints: [Endpoint]
    }

    var metadata: [String: String] { ["agent_id": engine.configuration.instanceID, "seed": "000"] }

    func ping() -> Ping { Ping(name: configuration.agentName, id: serviceID, version: configuration.version, metadata: metadata) }

    func info() -> Info {
        Info(name: configuration.agentName, id: serviceID, version: configuration.version, metadata: metadata,
             description: "Corral: sandboxed code execution (seed 000's coding agent)",
             endpoints: endpoints.map { Info.Endpoint(name: $0.name, subject: $0.subject, queueGroup: $0.queue, metadata: [:]) })
    }

    func stats() -> Stats {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return Stats(name: configuration.agentName, id: serviceID, version: configuration.version, metadata: metadata,
                     started: formatter.string(from: started),
                     endpoints: endpoints.map { e in
                         let s = statistics.snapshot(e.name)
                         return Stats.Endpoint(name: e.name, subject: e.subject, queueGroup: e.queue, numRequests: s.requests,
                                               numErrors: s.errors, lastError: s.lastError, processingTime: s.processingNanoseconds,
                                               averageProcessingTime: s.requests > 0 ? s.processingNanoseconds / UInt64(s.requests) : 0)
                     })
    }
}
