import CorralRuntimes

/// One language's warm pool as `/v1/status` shows it (see docs/fork-server.md).
public struct WarmPoolStatus: Sendable, Encodable {
    var ready, starting, target, hits, misses, fallbacks: Int
    var memoryBytes: UInt64
    /// Set when the pool stopped starting jails after repeated failures: its runs go cold.
    var disabledReason: String?
    var lastFailure: String?
    var lastFallback: String?
    /// The language's fork-server, when it has one.
    var forkServer: ForkServerStatus?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case ready, starting, target, hits, misses, fallbacks
        case memoryBytes = "memory_bytes", disabledReason = "disabled_reason"
        case lastFailure = "last_failure", lastFallback = "last_fallback", forkServer = "fork_server"
    }

    init(_ s: WarmPools.Snapshot) {
        ready = s.ready; starting = s.starting; target = s.target
        hits = s.hits; misses = s.misses; fallbacks = s.fallbacks
        memoryBytes = s.memoryBytes
        disabledReason = s.disabledReason; lastFailure = s.lastFailure; lastFallback = s.lastFallback
        forkServer = s.forkServer.map(ForkServerStatus.init)
    }
}

/// A language's fork-server in `/v1/status` (docs/fork-server.md).
public struct ForkServerStatus: Sendable, Encodable {
    var state: String
    var zygotes, busy, capacity, forks, fallbacks, restarts: Int
    var memoryBytes: UInt64
    var disabledReason, lastFailure, lastFallback: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case state, zygotes, busy, capacity, forks, fallbacks, restarts
        case memoryBytes = "memory_bytes", disabledReason = "disabled_reason"
        case lastFailure = "last_failure", lastFallback = "last_fallback"
    }

    init(_ s: ForkServers.Snapshot) {
        state = s.state; zygotes = s.zygotes; busy = s.busy; capacity = s.capacity
        forks = s.forks; fallbacks = s.fallbacks; restarts = s.restarts; memoryBytes = s.memoryBytes
        disabledReason = s.disabledReason; lastFailure = s.lastFailure; lastFallback = s.lastFallback
    }
}

extension ForkServerStatus: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self, optional: [.disabledReason, .lastFailure, .lastFallback]) { key in
            switch key {
            case .state: JSONSchema.enumeration(["starting", "running", "disabled"])
                .described("running: Python runs are forks of a zygote; disabled: it failed to start repeatedly (runs use warm or cold jails).")
            case .zygotes, .busy, .capacity, .forks, .fallbacks, .restarts, .memoryBytes: .integer(minimum: 0)
            case .disabledReason: JSONSchema.string().described("Why the fork-server was given up.")
            case .lastFailure: JSONSchema.string().described("The last failure to start a zygote, or the last zygote that died.")
            case .lastFallback: JSONSchema.string().described("Why the last fork failed before its program started (the run took another jail).")
            }
        }
    }
}

extension WarmPoolStatus: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self, optional: [.disabledReason, .lastFailure, .lastFallback, .forkServer]) { key in
            switch key {
            case .forkServer: JSONSchema.ref("ForkServerStatus")
            case .ready, .starting, .target, .hits, .misses, .fallbacks, .memoryBytes: .integer(minimum: 0)
            case .disabledReason: JSONSchema.string().described("Why the pool stopped starting warm jails; its runs are cold.")
            case .lastFailure: JSONSchema.string().described("The last failure to start a warm jail.")
            case .lastFallback: JSONSchema.string().described("Why the last taken warm jail failed before its run (the run went cold).")
            }
        }
    }
}
