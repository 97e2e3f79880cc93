/// Seed 003's `status` of a report (`"status": "success"`): a report that exists succeeded;
/// failures are HTTP errors, never a report with another status.
public enum ReportStatus: String, Sendable, Codable, CaseIterable {
    case success
}

/// Whether the service takes work (`GET /v1/status` `state`).
public enum ServiceState: String, Sendable, Codable, CaseIterable {
    case running
    /// Shutting down: `/readyz` fails, in-flight runs finish, new ones are refused.
    case draining
}
