import Foundation
import Synchronization

/// Seed 000's circuit breaker, with its names and defaults: after `failureThreshold` failures in a
/// row it opens and refuses calls for `timeoutSeconds`; then it is half-open and lets
/// `halfOpenMaxCalls` calls through: if they all succeed it closes, and any failure opens it again.
/// A caller asks `allow()` before a call and reports the outcome; a refused call costs nothing.
public final class CircuitBreaker: Sendable {
    public struct Settings: Sendable {
        /// `circuit_breaker_failure_threshold`.
        public var failureThreshold = 5
        /// `circuit_breaker_timeout_seconds`.
        public var timeoutSeconds: Double = 60
        /// `circuit_breaker_half_open_max_calls`.
        public var halfOpenMaxCalls = 3
        public init() {}
    }

    public enum State: String, Sendable { case closed, open, halfOpen = "half_open" }

    struct Inner {
        var state = State.closed
        var failures = 0
        var openedAt = Date.distantPast
        var halfOpenAllowed = 0
        var halfOpenSucceeded = 0
        var transitions = 0
    }

    public let name: String
    public let settings: Settings
    private let inner = Mutex(Inner())
    private let onChange: @Sendable (String, State) -> Void

    /// `onChange` hears every transition (for the log), outside the lock.
    public init(name: String, settings: Settings = Settings(), onChange: @escaping @Sendable (String, State) -> Void = { _, _ in }) {
        self.name = name
        self.settings = settings
        self.onChange = onChange
    }

    public var state: State {
        inner.withLock { s in
            if s.state == .open, Date().timeIntervalSince(s.openedAt) >= settings.timeoutSeconds { return .halfOpen }
            return s.state
        }
    }

    /// How many times the state changed (for tests and metrics).
    public var transitions: Int { inner.withLock { $0.transitions } }

    /// Whether a call may go ahead now.
    public func allow() -> Bool {
        let (allowed, changed) = inner.withLock { s -> (Bool, State?) in
            switch s.state {
            case .closed:
                return (true, nil)
            case .open:
                guard Date().timeIntervalSince(s.openedAt) >= settings.timeoutSeconds else { return (false, nil) }
                s.state = .halfOpen
                s.transitions += 1
                s.halfOpenAllowed = 1
                s.halfOpenSucceeded = 0
                return (true, .halfOpen)
            case .halfOpen:
                guard s.halfOpenAllowed < settings.halfOpenMaxCalls else { return (false, nil) }
                s.halfOpenAllowed += 1
                return (true, nil)
            }
        }
        if let changed { onChange(name, changed) }
        return allowed
    }

    /// Returns a call `allow()` let through that was never made (a half-open breaker counts only
    /// calls that reached the server).
    public func giveBack() {
        inner.withLock { s in if s.state == .halfOpen, s.halfOpenAllowed > 0 { s.halfOpenAllowed -= 1 } }
    }

    public func recordSuccess() {
        let changed = inner.withLock { s -> State? in
            switch s.state {
            case .closed:
                s.failures = 0
                return nil
            case .halfOpen:
                s.halfOpenSucceeded += 1
                guard s.halfOpenSucceeded >= settings.halfOpenMaxCalls else { return nil }
                s.state = .closed
                s.failures = 0
                s.transitions += 1
                return .closed
            case .open:
                return nil
            }
        }
        if let changed { onChange(name, changed) }
    }

    public func recordFailure() {
        let changed = inner.withLock { s -> State? in
            switch s.state {
            case .closed:
                s.failures += 1
                guard s.failures >= settings.failureThreshold else { return nil }
            case .halfOpen:
                break
            case .open:
                return nil
            }
            s.state = .open
            s.openedAt = Date()
            s.transitions += 1
            return .open
        }
        if let changed { onChange(name, changed) }
    }
}
