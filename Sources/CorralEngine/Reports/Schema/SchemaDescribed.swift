import CorralSandbox

/// A wire type that states its JSON Schema. Request schemas carry the same bounds the engine
/// checks (maxima, language names, profiles), so they are built from a `SchemaContext`.
public protocol SchemaDescribed {
    static func schema(in context: SchemaContext) -> JSONSchema
}

/// What a schema's bounds depend on: the configuration of the engine and of the front end.
public struct SchemaContext: Sendable {
    /// Limits of a request that names none.
    public var defaultLimits: ResourceLimits
    /// The most a request may ask for.
    public var maximumLimits: ResourceLimits
    /// Canonical language names, in catalog order.
    public var languages: [String]
    /// Every name a request may use for a language: canonical names and aliases.
    public var languageNames: [String]
    /// Names of the limit profiles.
    public var profiles: [String]
    /// Largest number of programs in one batch.
    public var maxBatchSize: Int
    /// Names (and aliases) of the languages a session runs as `code` (interpreted ones).
    public var interpretedLanguageNames: [String] = []
    /// Largest code of a request, in bytes.
    public var maximumCodeBytes = 1 << 20
    /// The session settings the session bodies are bounded by.
    public var sessions = SessionSettings()
    /// The task settings the task bodies are bounded by.
    public var tasks = TaskSettings()
    /// The code agent's presets (empty: no agent, a task in words is refused).
    public var agentPresets: [String] = []
    /// The models a task may name.
    public var agentModels: [String] = []

    public init(defaultLimits: ResourceLimits = ResourceLimits(), maximumLimits: ResourceLimits = .maximum,
                languages: [String] = [], languageNames: [String] = [], profiles: [String] = [], maxBatchSize: Int = 64) {
        self.defaultLimits = defaultLimits
        self.maximumLimits = maximumLimits
        self.languages = languages
        self.languageNames = languageNames
        self.profiles = profiles
        self.maxBatchSize = maxBatchSize
    }
}

extension Engine {
    /// The context of this engine's schemas; `maxBatchSize` comes from the front end.
    public func schemaContext(maxBatchSize: Int) -> SchemaContext {
        let catalog = runtime.catalog
        var context = SchemaContext(defaultLimits: configuration.defaultLimits, maximumLimits: configuration.maximumLimits,
                                    languages: catalog.names, languageNames: catalog.languages.flatMap { [$0.name] + $0.aliases },
                                    profiles: configuration.profiles.keys.sorted(), maxBatchSize: maxBatchSize)
        context.interpretedLanguageNames = catalog.languages.filter { !$0.isCompiled }.flatMap { [$0.name] + $0.aliases }
        context.sessions = configuration.sessions
        context.tasks = configuration.tasks
        context.maximumCodeBytes = configuration.maxCodeBytes
        context.agentPresets = configuration.codeAgent?.presetNames ?? []
        context.agentModels = configuration.codeAgent?.modelNames ?? []
        return context
    }
}
