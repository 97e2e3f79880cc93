/// How many warm jails a service keeps, and for how long. Pools grow with demand (a run that finds
/// its language's pool empty raises the pool's target by one, up to `maxPerLanguage`) and shrink
/// back to nothing when their jails sit unused for `idleSeconds`; all warm jails together stay
/// within `memoryBudgetMB`, as their cgroups count it.
public struct WarmPoolSettings: Sendable, Equatable {
    /// Warm jails per language at most (0 turns warm pools off).
    public var maxPerLanguage = 4
    /// A warm jail unused this long is retired (and its pool's target lowered).
    public var idleSeconds: Double = 120
    /// Memory all waiting warm jails may hold together.
    public var memoryBudgetMB = 160
    /// Languages whose pool starts with one jail (the others start empty, warming on first use).
    public var prewarm: [String] = []
    /// Consecutive failures to start a language's warm jail after which its pool stops trying (runs
    /// go cold, and `corral doctor` and `/v1/status` say why).
    public var failureLimit = 3
    /// How long a run that finds no ready jail waits for one before running cold (0: never waits;
    /// tests that must run warm wait).
    public var waitForJailSeconds: Double = 0
    /// Languages served by a fork-server (a zygote forked per run; docs/fork-server.md) before their
    /// warm pool: those whose catalog `warm` entry has a `fork` section.
    public var forkServers: [String] = []
    /// Zygotes per fork-server language at most (each runs a few forks at once; more start while all are busy).
    public var zygotesPerLanguage = 4
    /// How long a run waits for a busy fork-server's free fork before it takes a warm or cold jail.
    public var forkWaitSeconds: Double = 0.5

    public init() {}

    /// No warm pools: every run is cold (one-shot front ends).
    public static let off: WarmPoolSettings = {
        var s = WarmPoolSettings()
        s.maxPerLanguage = 0
        s.forkServers = []
        return s
    }()

    public var enabled: Bool { maxPerLanguage > 0 || !forkServers.isEmpty }
}
