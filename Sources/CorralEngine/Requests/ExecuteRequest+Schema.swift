import CorralPolicy
import CorralSandbox

extension ExecuteRequest: SchemaDescribed {
    /// The body of `POST /v1/execute`: every bound the server checks, each a 400 when broken.
    public static func schema(in context: SchemaContext) -> JSONSchema { schema(in: context, engineBounds: true) }

    /// `engineBounds: false` leaves out what only the engine checks (language, limits, profile,
    /// dependencies, variable names): a batch item breaking those gets its error in place, in a 200.
    /// Types, unknown fields, blank code and alias pairs are the decoder's: a 400 for the whole body.
    public static func schema(in context: SchemaContext, engineBounds: Bool) -> JSONSchema {
        let property = { (key: CodingKeys) in Self.property(key, context, engineBounds: engineBounds) }
        let pairs = SeedAlias.allCases.map { alias in
            JSONSchema(["not": .object(["required": .array([.string(alias.rawValue), .string(alias.canonical.rawValue)])])])
        }
        return JSONSchema.object(CodingKeys.self, required: [.code, .language], property)
            .adding(SeedAlias.allCases.map { alias in
                (alias.rawValue, property(alias.canonical).orNull
                    .described("Seed 003's name for '\(alias.canonical.rawValue)'; give one of the two, not both."))
            })
            .with("allOf", .array(pairs.map { .object($0.keywords) }))
    }

    private static func property(_ key: CodingKeys, _ c: SchemaContext, engineBounds: Bool) -> JSONSchema {
        let max = c.maximumLimits, defaults = c.defaultLimits
        func bounded(_ strict: JSONSchema, _ loose: JSONSchema) -> JSONSchema { engineBounds ? strict : loose }
        // What the decoder takes for a whole-number field: any integer that fits 64 bits.
        let anyInt = JSONSchema.integer(minimum: Int.min, maximum: Int.max)
        switch key {
        case .code:
            return .string(pattern: RequestText.nonBlankPattern)
                .described("The program's source: at least one character that is not blank (413 when over the engine's code limit in bytes).")
        case .language:
            return bounded(.string(pattern: RequestText.anyCasePattern(c.languageNames)), .string())
                .described("A language name or alias, any letter case: \(c.languages.joined(separator: ", ")) (GET /v1/languages).")
        case .timeoutSeconds:
            // The lower bounds are `ResourceLimits.validate`'s (a test holds them equal).
            return bounded(.number(minimum: 0.001, maximum: max.timeoutSeconds), .number())
                .described("Wall-clock limit in seconds (default \(defaults.timeoutSeconds)); also the CPU time limit.")
        case .maxMemoryMb:
            return bounded(.integer(minimum: 16, maximum: max.memoryMB), anyInt)
                .described("Memory limit in MiB (default \(defaults.memoryMB)); swap is 0.")
        case .maxOutputSize:
            return bounded(.integer(minimum: 1, maximum: max.outputBytes), anyInt)
                .described("Bytes of stdout + stderr kept (default \(defaults.outputBytes)); beyond it the program is killed (output_limit).")
        case .cpuPercent:
            return bounded(.integer(minimum: 1, maximum: max.effectiveCPUPercent), anyInt)
                .described("CPU share of the whole run in percent of one core (default \(defaults.effectiveCPUPercent)), enforced with the cgroup CPU quota.")
        case .allowNetwork:
            return JSONSchema.boolean.described("Outbound network through a user-mode stack; never the host's loopback or private ranges (default false).")
        case .allowFilesystem:
            return JSONSchema.boolean.described("Whether the program may write its workspace (default false: read-only). /tmp is writable either way.")
        case .environmentVars:
            return JSONSchema.map(.string(pattern: RequestText.noNULPattern),
                                  keys: .string(pattern: engineBounds ? RequestText.variableNamePattern : RequestText.noNULPattern))
                .described("Environment variables of the program; names are non-empty, without '=' or NUL.")
        case .stdinData:
            return JSONSchema.string().described("Standard input of the program.")
        case .args:
            return JSONSchema.array(.string(pattern: RequestText.noNULPattern)).described("Command-line arguments, passed literally (no NUL).")
        case .priority:
            return JSONSchema.enumeration(Priority.allCases.map(\.name)).described("Order in the admission queue (default MEDIUM).")
        case .useCache:
            return JSONSchema.boolean.described("false skips the result cache (default true).")
        case .profile:
            return bounded(.enumeration(c.profiles), .string()).described("A limit profile of GET /v1/limits: its limits, flags and policy.")
        case .strictMode:
            return JSONSchema.boolean.described("true: code with findings at or above the threshold does not run (security_violation).")
        case .authorizedImports:
            return JSONSchema.array(.string()).described("Modules the code may import; any other import is a high finding.")
        case .dependencies:
            return bounded(.array(.string(), maxItems: 0), .array(.string()))
                .described("Seed 000's 'future' field: not supported yet, so only an empty list is accepted.")
        }
    }
}

extension BatchRequest: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self) { key in
            switch key {
            case .requests:
                .array(.ref("BatchItem"), minItems: 1, maxItems: context.maxBatchSize)
                    .described("1 to \(context.maxBatchSize) execute requests, run at once and answered in order.")
            }
        }
    }
}

extension ValidateRequest: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self, required: [.code, .language]) { key in
            switch key {
            case .code: .string(pattern: RequestText.nonBlankPattern).described("The source to analyse: at least one character that is not blank.")
            case .language: .string(pattern: RequestText.anyCasePattern(context.languageNames)).described("A language name or alias, any letter case.")
            case .allowNetwork: JSONSchema.boolean.described("Network findings drop in severity (the code may use the network).")
            case .allowFilesystem: JSONSchema.boolean.described("Filesystem findings drop in severity (the code may write its workspace).")
            case .strictMode:
                JSONSchema.boolean.with("const", true)
                    .described("Validation always judges as strict mode does; only true is accepted (false is a 400).")
            case .authorizedImports: JSONSchema.array(.string()).described("Modules the code may import; any other import is a high finding.")
            case .profile: JSONSchema.enumeration(context.profiles).described("A limit profile: its network, filesystem and policy settings.")
            case .threshold:
                JSONSchema.enumeration(Severity.allCases.map(\.rawValue)).described("Findings at or above this severity make the code unsafe.")
            }
        }
    }
}
