extension LanguagesReport: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self) { key in
            switch key {
            case .status: .enumeration(ReportStatus.allCases.map(\.rawValue))
            case .languages: JSONSchema.map(.ref("Language"), keys: .enumeration(context.languages)).described("Every language of the catalog, by canonical name.")
            case .totalLanguages: .integer(minimum: 0)
            case .defaultTimeout, .maxTimeout: JSONSchema.number(minimum: 0).described("Seconds.")
            case .defaultMemoryMb, .maxMemoryMb: JSONSchema.integer(minimum: 0).described("MiB.")
            case .defaultOutputSize, .maxOutputSize: JSONSchema.integer(minimum: 0).described("Bytes of stdout + stderr.")
            case .defaultCPUPercent, .maxCPUPercent: JSONSchema.integer(minimum: 1).described("Percent of one core.")
            }
        }
    }
}

extension LanguagesReport.Entry: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self) { key in
            switch key {
            case .name: .string()
            case .displayName: .string()
            case .aliases: JSONSchema.array(.string()).described("Other names a request may use.")
            case .available: JSONSchema.boolean.described("The toolchain is installed and answered its version probe.")
            case .version: JSONSchema.string().orNull
            case .reason: JSONSchema.string().orNull.described("Why the language is unavailable.")
            case .compiled: JSONSchema.boolean.described("Runs in two jails: compile, then run.")
            case .fileExtension: JSONSchema.string().described("The main source file's extension, with its dot.")
            case .interpreter: JSONSchema.string().orNull.described("The program that runs the code; null when the compiled artifact runs by itself.")
            case .compiler: JSONSchema.string().orNull.described("The compiler; null for an interpreted language.")
            case .securityRestrictions: JSONSchema.integer(minimum: 0).orNull.described("Static-analysis rules for the language.")
            }
        }
    }
}
