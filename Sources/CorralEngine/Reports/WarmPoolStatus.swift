import CorralRuntimes

/// One language's warm pool as `/v1/status` shows it (see docs/fork-server.md).
public struct WarmPoolStatus: Sendable, Encodable {
    var ready, starting, target, hits, misses, fallbacks: Int
    var memoryBytes: UInt64
    /// Set when the pool stopped starting jails after repeated failures: its runs go cold.
    var disabledReason: String?
    var lastFailure: String?
    var lastFallback: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case ready, starting, target, hits, misses, fallbacks
        case memoryBytes = "memory_bytes", disabledReason = "disabled_reason"
        case lastFailure = "last_failure", lastFallback = "last_fallback"
    }

    init(_ s: WarmPools.Snapshot) {
        ready = s.ready; starting = s.starting; target = s.target
        hits = s.hits; misses = s.misses; fallbacks = s.fallbacks
        memoryBytes = s.memoryBytes
        disabledReason = s.disabledReason; lastFailure = s.lastFailure; lastFallback = s.lastFallback
    }
}

extension WarmPoolStatus: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self, optional: [.disabledReason, .lastFailure, .lastFallback]) { key in
            switch key {
            case .ready, .starting, .target, .hits, .misses, .fallbacks, .memoryBytes: .integer(minimum: 0)
            case .disabledReason: JSONSchema.string().described("Why the pool stopped starting warm jails; its runs are cold.")
            case .lastFailure: JSONSchema.string().described("The last failure to start a warm jail.")
            case .lastFallback: JSONSchema.string().described("Why the last taken warm jail failed before its run (the run went cold).")
            }
        }
    }
}
