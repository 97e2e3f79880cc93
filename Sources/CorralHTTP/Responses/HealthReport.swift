import CorralEngine

/// The body of `/healthz` (`ok`) and of a ready `/readyz` (`ready`).
struct HealthReport: Encodable {
    enum Status: String, Encodable, CaseIterable {
        /// The process answers.
        case ok
        /// Jails can run and the service is not draining.
        case ready
    }
    var status: Status

    enum CodingKeys: String, CodingKey, CaseIterable { case status }

    static func schema(_ status: Status) -> JSONSchema {
        .object(CodingKeys.self) { key in
            switch key {
            case .status: .enumeration([status.rawValue])
            }
        }
    }
}
