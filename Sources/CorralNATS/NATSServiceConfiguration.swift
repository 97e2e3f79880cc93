/// Fleet mode's NATS side (`corral serve --nats-url`), with seed 000's names and defaults.
public struct NATSServiceConfiguration: Sendable {
    /// `nats://[user:password@|token@]host:port`.
    public var url: String
    /// Seed 000's agent name: subjects are `agent.<name>.task|status|health`; also the NATS service
    /// API's service name (`$SRV.PING.<name>`), so letters, digits, `_` and `-` only.
    public var agentName = "coding_agent"
    /// Every instance joins this queue group on `agent.<name>.task`: each task goes to one of them.
    public var queueGroup = "corral"
    /// Seed 000's `heartbeat_interval_seconds`: a beat on `agent.<name>.heartbeat`.
    public var heartbeatIntervalSeconds: Double = 10
    /// Seed 000's `status_publish_interval_seconds`: the status object on `agent.<name>.status.update`.
    public var statusPublishIntervalSeconds: Double = 30
    /// Task messages handled at once by this instance; the rest wait in the subscription.
    public var maxInFlight = 64
    /// The service's version (ADR-32 wants semver).
    public var version = "1.0.0"

    public init(url: String) { self.url = url }

    /// Throws a message naming the setting when a value cannot work.
    public func validate() throws(NATSServiceError) {
        guard !agentName.isEmpty, agentName.utf8.count <= 64,
              agentName.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else {
            throw NATSServiceError("--agent-name '\(agentName)': use 1 to 64 letters, digits, '_' or '-' (it is a NATS subject token and the service name)")
        }
        guard heartbeatIntervalSeconds >= 0.1, heartbeatIntervalSeconds <= 86_400, statusPublishIntervalSeconds >= 0.1,
              statusPublishIntervalSeconds <= 86_400 else {
            throw NATSServiceError("heartbeat and status intervals are 0.1 to 86400 seconds")
        }
        guard (1...10_000).contains(maxInFlight) else { throw NATSServiceError("max in-flight NATS tasks is 1 to 10000, got \(maxInFlight)") }
    }

    var taskSubject: String { "agent.\(agentName).task" }
    var statusSubject: String { "agent.\(agentName).status" }
    var healthSubject: String { "agent.\(agentName).health" }
    var heartbeatSubject: String { "agent.\(agentName).heartbeat" }
    var statusUpdateSubject: String { "agent.\(agentName).status.update" }
}

/// A fleet setting that cannot work, said so the operator can fix it.
public struct NATSServiceError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
