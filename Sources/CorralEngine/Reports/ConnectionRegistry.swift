import Synchronization

/// The outside servers a fleet instance depends on (NATS, PostgreSQL, Redis), each reporting its
/// state when asked: `/v1/status`, `agent.<name>.status`, the NATS health answer and `/metrics`
/// all read them here, so they cannot disagree.
public final class ConnectionRegistry: Sendable {
    /// The fleet's three, always in a status report (`not_configured` when the instance runs without one).
    public static let fleetNames = ["nats", "postgres", "redis"]

    private let probes = Mutex<[String: @Sendable () -> StatusReport.Connection]>([:])

    public init() {}

    /// Registers (or replaces) what reports the state of `name`.
    public func register(_ name: String, _ probe: @escaping @Sendable () -> StatusReport.Connection) {
        probes.withLock { $0[name] = probe }
    }

    /// The state of `name` now; `not_configured` when nothing registered it.
    public func state(of name: String) -> StatusReport.Connection {
        let probe = probes.withLock { $0[name] }
        return probe?() ?? StatusReport.Connection(state: .notConfigured, backend: "none", circuitBreaker: .none)
    }

    /// Every fleet connection that is configured and not connected (what makes an instance degraded).
    public var degraded: [String] {
        Self.fleetNames.filter { let s = state(of: $0).state; return s != .connected && s != .notConfigured }
    }

    /// The fleet's connections in Prometheus text: up (1/0, configured ones only) and breaker state
    /// (0 closed, 1 half-open, 2 open; guarded ones only).
    public func prometheusText() -> String {
        var up = "# HELP corral_connection_up Whether a configured fleet server (nats, postgres, redis) is connected.\n"
            + "# TYPE corral_connection_up gauge\n"
        var breakers = "# HELP corral_circuit_breaker_state Circuit breaker of a fleet connection: 0 closed, 1 half-open, 2 open.\n"
            + "# TYPE corral_circuit_breaker_state gauge\n"
        for name in Self.fleetNames {
            let c = state(of: name)
            guard c.state != .notConfigured else { continue }
            up += "corral_connection_up{name=\"\(name)\"} \(c.state == .connected ? 1 : 0)\n"
            switch c.circuitBreaker {
            case .closed: breakers += "corral_circuit_breaker_state{name=\"\(name)\"} 0\n"
            case .halfOpen: breakers += "corral_circuit_breaker_state{name=\"\(name)\"} 1\n"
            case .open: breakers += "corral_circuit_breaker_state{name=\"\(name)\"} 2\n"
            case .none: break
            }
        }
        return up + breakers
    }
}
