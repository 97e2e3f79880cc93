import CorralPolicy

extension LimitsReport: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self) { key in
            switch key {
            case .status: .enumeration(ReportStatus.allCases.map(\.rawValue))
            case .defaultLimits: JSONSchema.ref("Limits").described("What a request that names no limit gets.")
            case .maximumLimits: JSONSchema.ref("Limits").described("The most a request may ask for; beyond it is a 400, never clamped.")
            case .recommendedLimits:
                JSONSchema.map(.ref("Limits"), keys: .enumeration(context.profiles))
                    .described("The named profiles; a request selects one with 'profile'.")
            }
        }
    }
}

extension LimitsReport.Limits: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self, optional: [.policyMode, .description]) { key in
            switch key {
            case .maxExecutionTime: JSONSchema.number(minimum: 0).described("Seconds of wall-clock time (timeout_seconds).")
            case .maxMemoryMb: JSONSchema.integer(minimum: 0).described("MiB of memory.")
            case .maxCPUPercent: JSONSchema.integer(minimum: 1).described("CPU share in percent of one core (cpu_percent).")
            case .maxFileSizeMb: JSONSchema.integer(minimum: 0).described("Largest file the program may write, in MiB.")
            case .maxOutputSizeKb: JSONSchema.integer(minimum: 0).described("KiB of stdout + stderr kept.")
            case .maxProcesses: JSONSchema.integer(minimum: 0).described("Processes and threads alive at once.")
            case .maxOpenFiles: JSONSchema.integer(minimum: 0).described("Open file descriptors per process.")
            case .networkAccess: JSONSchema.boolean.described("allow_network.")
            case .fileSystemAccess: JSONSchema.boolean.described("allow_filesystem: a writable workspace.")
            case .policyMode: JSONSchema.enumeration(PolicyMode.allCases.map(\.rawValue)).described("A profile's static-analysis mode.")
            case .description: JSONSchema.string().described("What a profile is for.")
            }
        }
    }
}
