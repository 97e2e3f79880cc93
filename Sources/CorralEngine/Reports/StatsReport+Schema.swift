import CorralSandbox
import CorralStore

extension StatsReport: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        let statuses = JSONSchema.enumeration(RunStatus.allCases.map(\.rawValue))
        return .object(CodingKeys.self, optional: [.history, .recentExecutions]) { key in
            switch key {
            case .status: .enumeration(ReportStatus.allCases.map(\.rawValue))
            case .totalExecutions: JSONSchema.integer(minimum: 0).described("Executions since the service started.")
            case .successRate: .number(minimum: 0, maximum: 1)
            case .byStatus: .map(.integer(minimum: 0), keys: statuses)
            case .byLanguage: .map(.integer(minimum: 0))
            case .timing: Timing.schema(in: context)
            case .cache: CacheStatistics.schema(in: context)
            case .admission: Admission.schema(in: context)
            case .historyWriteFailures: .integer(minimum: 0)
            case .history: HistorySummary.schema(in: context).described("The whole history (left out when it cannot be read).")
            case .recentExecutions: JSONSchema.array(.ref("ExecutionRecord")).described("The 20 newest executions, with include_history=true.")
            case .codingMetrics: .ref("CodingMetrics")
            }
        }
    }
}

extension StatsReport.Timing: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self) { _ in .number(minimum: 0) }
    }
}

extension StatsReport.CacheStatistics: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self) { key in
            switch key {
            case .hits, .misses: .integer(minimum: 0)
            case .hitRate: .number(minimum: 0, maximum: 1)
            }
        }
    }
}

extension StatsReport.Admission: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self) { _ in .integer(minimum: 0) }
    }
}

extension HistorySummary: SchemaDescribed {
    /// `HistorySummary`'s fields (CorralStore); the coverage test holds its encoding to this list.
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object([
            ("total", .integer(minimum: 0)),
            ("by_status", .map(.integer(minimum: 0))),
            ("by_language", .map(.integer(minimum: 0))),
            ("cached", .integer(minimum: 0)),
            ("average_execution_time_ms", .number(minimum: 0)),
        ], required: ["total", "by_status", "by_language", "cached", "average_execution_time_ms"])
    }
}

extension ExecutionRecord: SchemaDescribed {
    /// `ExecutionRecord`'s fields (CorralStore): optional fields are left out when empty.
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object([
            ("execution_id", .string()),
            ("created_at", JSONSchema.string().with("format", "date-time")),
            ("language", .string()),
            ("status", .enumeration(RunStatus.allCases.map(\.rawValue))),
            ("exit_code", .integer()),
            ("execution_time_ms", .number(minimum: 0)),
            ("cpu_time_ms", .number(minimum: 0)),
            ("memory_used_mb", .number(minimum: 0)),
            ("cached", .boolean),
            ("code_hash", JSONSchema.string().described("SHA-256 of the code, hex.")),
            ("stdout", JSONSchema.string().described("At most 4096 bytes.")),
            ("stderr", JSONSchema.string().described("At most 4096 bytes.")),
            ("error_message", .string()),
            ("caller", JSONSchema.string().described("The API key's name.")),
            ("request_id", JSONSchema.string().described("X-Request-ID of the request.")),
        ], required: ["execution_id", "created_at", "language", "status", "execution_time_ms", "cpu_time_ms",
                      "memory_used_mb", "cached", "code_hash", "stdout", "stderr"])
    }
}

extension StatusReport: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self) { key in
            switch key {
            case .agentId: JSONSchema.string().described("This instance's name.")
            case .state: .enumeration(ServiceState.allCases.map(\.rawValue))
            case .uptimeSeconds: .number(minimum: 0)
            case .connections: Connections.schema(in: context)
            case .metrics: TaskMetrics.schema(in: context)
            case .codingMetrics: .ref("CodingMetrics")
            case .warmPools: JSONSchema.map(.ref("WarmPoolStatus")).described("Warm jails by language (docs/fork-server.md).")
            case .warmPools: JSONSchema.map(.ref("WarmPoolStatus")).described("Warm jails by language (docs/fork-server.md).")
            }
        }
    }
}

extension StatusReport.Connections: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self) { _ in StatusReport.Connection.schema(in: context) }
    }
}

extension StatusReport.Connection: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self) { key in
            switch key {
            case .state: .enumeration(State.allCases.map(\.rawValue))
            case .backend: .string()
            case .circuitBreaker: JSONSchema.enumeration(Breaker.allCases.map(\.rawValue))
                .described("Seed 000's circuit breaker guarding it (docs/fleet.md); none where there is no breaker.")
            }
        }
    }
}

extension StatusReport.TaskMetrics: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self) { key in
            switch key {
            case .tasksCompleted, .tasksFailed: .integer(minimum: 0)
            case .avgProcessingTimeMs: .number(minimum: 0)
            }
        }
    }
}

extension StatusReport.CodingMetrics: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self) { key in
            switch key {
            case .languageBreakdown: .map(.integer(minimum: 0))
            case .totalExecutions, .successfulExecutions, .failedExecutions, .timeoutExecutions, .securityViolations,
                 .cacheHits, .cacheMisses: .integer(minimum: 0)
            }
        }
    }
}
