import CorralSandbox

/// How the engine runs sessions (`corral serve --max-sessions`, `--allow-host-path`, …).
public struct SessionSettings: Sendable {
    /// Sessions alive at once, over all callers; one more is refused with `limit_reached` (429).
    public var maxSessions = 16
    /// Idle time-to-live a session gets when it names none, and the most it may ask for (seconds).
    public var defaultTTLSeconds: Double = 300
    public var maxTTLSeconds: Double = 86_400
    /// Host directories (and what is under them) a session may mount; none by default.
    public var allowedHostRoots: [String] = []
    /// What a session gets when it names no limit: session-wide memory, processes and disk.
    public var defaultMemoryMB = 1024
    public var defaultProcesses = 256
    public var defaultDiskMB = 512
    /// The least a session may ask for: its agent (Python, one thread per request in flight) needs them.
    public static let minimumMemoryMB = 64
    public static let minimumProcesses = 16
    /// Below a tenth of a core an interpreter takes seconds to start: a session that slow serves no one.
    public static let minimumCPUPercent = 10
    /// Largest file the files API reads or writes at once, and the largest archive it makes.
    public var maxFileBytes = 64 << 20
    public var maxArchiveBytes = 512 << 20
    /// Largest zip a session takes in one upload, and how many entries and how much inflation it may hold.
    public var maxUploadBytes = 64 << 20
    public var maxUploadEntries = 100_000
    public var maxUploadRatio = 200
    /// Sessions started ahead of demand (a scratch workspace of `defaultDiskMB`, no network), taken
    /// by a create that fits them: a create then costs its limits and files, not a jail and an
    /// interpreter. Filled after the first create; 0 turns it off.
    public var warmSessions = 2
    /// Exited sessions remembered (to answer 410 Gone rather than 404) for this long.
    public var rememberExpiredSeconds: Double = 3600

    public init() {}
}
