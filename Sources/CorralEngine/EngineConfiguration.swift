import CorralPolicy
import CorralRuntimes
import CorralSandbox
import CorralStore
import Foundation

/// Everything the engine's behaviour depends on, with defaults for a single machine. Front ends
/// fill it from their flags, environment and files; the engine itself reads nothing else.
public struct EngineConfiguration: Sendable {
    /// Jails running at once (default: the number of cores).
    public var workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// Requests waiting for a jail before new ones are refused with `queue_full`.
    public var queueCapacity = max(1, ProcessInfo.processInfo.activeProcessorCount) * 32
    /// Limits of a request that names none.
    public var defaultLimits = ResourceLimits()
    /// The most a request may ask for.
    public var maximumLimits = ResourceLimits.maximum
    /// Largest `code`, in bytes.
    public var maxCodeBytes = 1 << 20
    /// Largest `stdin_data`, in bytes.
    public var maxStdinBytes = 8 << 20
    /// Result cache time to live, in seconds (seed 000 `cache_ttl_seconds`).
    public var cacheTTLSeconds: Double = 3600
    /// Whether results are cached at all (a request may still opt out with `use_cache: false`).
    public var cacheEnabled = true
    /// History retention.
    public var retention = RetentionPolicy()
    /// The language catalog (a JSON file like the shipped `languages.json`); nil: the shipped one.
    /// Used by `Engine(configuration:sandbox:…)`, which fails to start when it cannot be read.
    public var languageCatalogFile: String?
    /// A directory laid out like CorralPolicy's `Resources/` (`rules/*.json`, `sensitive_paths.json`,
    /// the analyzer scripts, `profiles.json`); nil: the shipped one. The engine fails to start when
    /// any of its files cannot be read, so strict mode never runs without its rules.
    public var policyResourcesDirectory: String?
    /// Where compiled artifacts are kept (shared by every `corral` process that names the same
    /// directory); nil: `CompileCache.defaultRoot`.
    public var compileCacheDirectory: String?
    /// Named limit profiles (seed 003); a request selects one with `profile` (any case). The engine
    /// starts with the profiles of `profiles.json` (in `policyResourcesDirectory`) and adds these,
    /// replacing one of the same name; its own `configuration` then holds them all.
    public var profiles: [String: Profile] = [:]
    /// Static validation of requests that name no profile: `warn` returns findings with the result,
    /// `strict` refuses code with findings at or above `policyThreshold`, `off` skips analysis.
    public var policyMode: PolicyMode = .warn
    public var policyThreshold: Severity = .high
    /// With `policyMode` off, load the rules on the first validation instead of at start (a one-shot
    /// front end that never validates skips it; a load failure then refuses strict requests).
    /// Services keep false: they fail at start, naming the file, when the rules cannot load.
    public var loadsPolicyOnFirstUse = false
    /// Warm jails kept ahead of runs for interpreted languages (off by default: a one-shot front end
    /// would only pay for them; `corral serve` turns them on).
    public var warmPools = WarmPoolSettings.off
    /// Sessions: how many, their default and maximum TTL, the host roots they may mount.
    public var sessions = SessionSettings()
    /// Tasks: where their directories live, how many run and wait, retention.
    public var tasks = TaskSettings()
    /// Warm analyzer workers for the languages analysed on a syntax tree (Python, JavaScript,
    /// TypeScript): long-lived analyzers in their own jails, so `warn` mode does not start an
    /// interpreter per request; nil: a fresh jail per analysis (what a one-run CLI process wants).
    public var analyzerWorkers: AnalyzerWorkers.Configuration? = AnalyzerWorkers.Configuration()
    /// The code agent that runs tasks given in words (nil: such tasks are refused).
    public var codeAgent: (any CodeAgent)?
    /// The name this instance reports as `agent_id`.
    public var instanceID = "corral-" + (ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "local")

    public init() {}
}
