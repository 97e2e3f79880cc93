import CorralEngine
import CorralRuntimes
import CorralHTTP
import CorralPolicy
import CorralStore
import Foundation
import Logging

/// `corral serve`'s settings: flags, then CORRAL_* environment, then a JSON file, then defaults.
struct ServeSettings {
    var http = HTTPConfiguration()
    var engine = EngineConfiguration()
    var dataDirectory = ServeSettings.defaultDataDirectory
    var historyBackend = "sqlite"
    var graceSeconds: Double = 30
    var logLevel = "info"
    var fleet = FleetSettings()

    static var defaultDataDirectory: String {
        let env = ProcessInfo.processInfo.environment
        if geteuid() == 0 { return "/var/lib/corral" }
        if let xdg = env["XDG_DATA_HOME"] { return xdg + "/corral" }
        return (env["HOME"] ?? "/tmp") + "/.local/share/corral"
    }

    /// The optional configuration file's fields.
    struct File: Decodable {
        /// Every field the file may hold; any other is refused (a misspelt key must not be silently ignored).
        static let fieldNames: Set<String> = [
            "host", "port", "workers", "history", "data_dir", "queue_capacity", "api_keys", "cache_ttl_seconds",
            "retention_days", "retention_rows", "grace_seconds", "log_level", "policy", "warm_pool", "warm_pool_memory_mb",
            "fork_server",
        ]
        var host: String?, port: Int?, dataDir: String?, workers: Int?, queueCapacity: Int?
        var apiKeys: [String: String]?, cacheTtlSeconds: Double?, retentionDays: Double?, retentionRows: Int?
        var graceSeconds: Double?, history: String?, logLevel: String?, policy: String?
        var warmPool: WarmPoolSize?, warmPoolMemoryMb: Int?, forkServer: String?
        enum CodingKeys: String, CodingKey {
            case host, port, workers, history, policy
            case dataDir = "data_dir", queueCapacity = "queue_capacity", apiKeys = "api_keys"
            case cacheTtlSeconds = "cache_ttl_seconds", retentionDays = "retention_days", retentionRows = "retention_rows"
            case graceSeconds = "grace_seconds", logLevel = "log_level"
            case warmPool = "warm_pool", warmPoolMemoryMb = "warm_pool_memory_mb", forkServer = "fork_server"
        }
    }

    static func resolve(_ flags: Corral.Serve, environment env: [String: String] = ProcessInfo.processInfo.environment) throws -> ServeSettings {
        var s = ServeSettings()
        s.engine.warmPools = Self.defaultWarmPools
        if let path = flags.config ?? env["CORRAL_CONFIG"] {
            guard let data = FileManager.default.contents(atPath: path) else { throw CLIFailure.usage("cannot read --config \(path)") }
            let file: File
            do { file = try JSONDecoder().decode(File.self, from: data) } catch {
                throw CLIFailure.usage("\(path) is not a valid configuration: \(error)")
            }
            let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
            let allowed = File.fieldNames.union(FleetSettings.fileFieldNames)
            let unknown = Set(object.keys).subtracting(allowed)
            guard unknown.isEmpty else {
                throw CLIFailure.usage("\(path): unknown field(s) \(unknown.sorted().joined(separator: ", ")); "
                    + "allowed: \(allowed.sorted().joined(separator: ", "))")
            }
            try s.apply(file)
            try s.fleet.apply(file: object)
            // Seed 000's max_concurrent_tasks: the jails that run at once.
            if let v = object["max_concurrent_tasks"] {
                guard let number = v as? NSNumber, String(cString: number.objCType) != "c", let n = Int(exactly: number.doubleValue) else { throw CLIFailure.usage("\"max_concurrent_tasks\" must be a whole number") }
                s.engine.workers = n
                s.engine.queueCapacity = Self.defaultQueueCapacity(workers: n)
            }
        }
        func int(_ key: String) throws -> Int? {
            guard let raw = env[key] else { return nil }
            guard let v = Int(raw) else { throw CLIFailure.usage("\(key)=\(raw) is not an integer") }
            return v
        }
        if let v = env["CORRAL_HOST"] { s.http.host = v }
        if let v = try int("CORRAL_PORT") { s.http.port = v }
        if let v = env["CORRAL_DATA_DIR"] { s.dataDirectory = v }
        if let v = try int("CORRAL_MAX_CONCURRENT_TASKS") { s.engine.workers = v; s.engine.queueCapacity = Self.defaultQueueCapacity(workers: max(1, v)) }
        if let v = try int("CORRAL_WORKERS") { s.engine.workers = v; s.engine.queueCapacity = Self.defaultQueueCapacity(workers: max(1, v)) }
        s.fleet.apply(environment: env)
        if let v = env["CORRAL_API_KEYS"] { s.http.apiKeys.merge(try parseKeys(v.split(separator: ",").map(String.init))) { $1 } }
        if let v = env["CORRAL_LOG_LEVEL"] { s.logLevel = v }
        if let v = env["CORRAL_WARM_POOL"] { try s.setWarmPool(v, source: "CORRAL_WARM_POOL") }
        if let v = env["CORRAL_FORK_SERVER"] { try s.setForkServer(v, source: "CORRAL_FORK_SERVER") }
        if let v = env["CORRAL_POLICY"] { s.engine.policyMode = try policyMode(v, source: "CORRAL_POLICY") }
        s.engine.applyResourceEnvironment(env)

        if let v = flags.host { s.http.host = v }
        if let v = flags.port { s.http.port = v }
        if let v = flags.dataDirectory { s.dataDirectory = v }
        if let v = flags.workers {
            guard v >= 1 else { throw CLIFailure.usage("--workers must be at least 1") }
            s.engine.workers = v
            s.engine.queueCapacity = Self.defaultQueueCapacity(workers: v)
        }
        if let v = flags.queueCapacity {
            guard v >= 0 else { throw CLIFailure.usage("--queue must be 0 or more") }
            s.engine.queueCapacity = v
        }
        if !flags.apiKeys.isEmpty { s.http.apiKeys.merge(try parseKeys(flags.apiKeys)) { $1 } }
        if let v = flags.historyBackend {
            s.historyBackend = v
        }
        if let v = flags.graceSeconds { s.graceSeconds = v }
        if let v = flags.logLevel { s.logLevel = v }
        if let v = flags.warmPool { try s.setWarmPool(v, source: "--warm-pool") }
        if let v = flags.warmPoolMemoryMB { s.engine.warmPools.memoryBudgetMB = v }
        if let v = flags.forkServer { try s.setForkServer(v, source: "--fork-server") }
        if let v = flags.policyMode { s.engine.policyMode = try policyMode(v, source: "--policy") }
        if let v = flags.maxSessions { s.engine.sessions.maxSessions = v }
        if let v = flags.sessionMaxTimeout {
            s.engine.sessions.maxTTLSeconds = v
            if v.isFinite, v >= 1 { s.engine.sessions.defaultTTLSeconds = min(s.engine.sessions.defaultTTLSeconds, v) }
        }
        for path in flags.allowHostPaths {
            guard path.hasPrefix("/"), let real = realpath(path, nil) else {
                throw CLIFailure.usage("--allow-host-path '\(path)' is not an existing absolute directory")
            }
            s.engine.sessions.allowedHostRoots.append(String(cString: real))
            free(real)
        }
        if let v = flags.maxRunningTasks { s.engine.tasks.maxRunning = v }
        if let v = flags.maxSteps { s.engine.tasks.maxSteps = v }
        if let v = flags.taskRetention { s.engine.tasks.retentionSeconds = try taskRetention(v) }
        for host in flags.allowCallbackHosts {
            guard !host.isEmpty, !host.contains("/"), !host.contains("@"), host.split(separator: ":").count <= 2 else {
                throw CLIFailure.usage("--allow-callback-host '\(host)' is not a host: give HOST or HOST:PORT (no scheme, no path)")
            }
            s.engine.tasks.allowedCallbackHosts.append(host)
        }
        s.fleet.apply(flags: flags)
        if let agent = try flags.llm.codeAgent(environment: env) { s.engine.codeAgent = agent }
        if let id = s.fleet.instanceID { s.engine.instanceID = id }
        s.engine.tasks.directory = s.dataDirectory + "/tasks"
        // Compiled artifacts live with the rest of the service's data unless CORRAL_COMPILE_CACHE says otherwise.
        s.engine.compileCacheDirectory = s.dataDirectory + "/compile"
        s.engine.applyResourceEnvironment(env)
        try s.validate()
        return s
    }

    /// `--task-retention`: a number with a unit (s, m, h, d), or `forever`.
    static func taskRetention(_ text: String) throws -> Double? {
        if text == "forever" { return nil }
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        guard let unit = text.last, let scale = units[unit], let value = Double(text.dropLast()), value.isFinite, value > 0, value <= 36_500 * 86_400 / scale else {
            throw CLIFailure.usage("--task-retention '\(text)' is not an age: give a number with s, m, h or d (30m, 12h, 7d), or 'forever'")
        }
        return value * scale
    }

    /// The largest values `corral serve` accepts: beyond them a conversion or product would trap.
    static let maxWorkers = 1024
    static let maxGraceSeconds: Double = 86_400
    /// Sessions are jails with their own identity slot (JailIdentity.slotCount bounds every jail at once).
    static let maxSessions = 1024
    static let maxSessionTimeout: Double = 30 * 86_400
    static let historyBackends = ["sqlite", "memory"]

    /// Refuses values that cannot work, whichever source gave them (flag, environment or file), naming the setting.
    func validate() throws {
        guard (1...Self.maxWorkers).contains(engine.workers) else {
            throw CLIFailure.usage("workers = \(engine.workers) is out of range: allowed 1...\(Self.maxWorkers) (--workers, CORRAL_WORKERS, \"workers\")")
        }
        guard engine.queueCapacity >= 0 else {
            throw CLIFailure.usage("queue capacity = \(engine.queueCapacity) must be 0 or more (--queue, \"queue_capacity\")")
        }
        guard graceSeconds.isFinite, (0...Self.maxGraceSeconds).contains(graceSeconds) else {
            throw CLIFailure.usage("grace = \(graceSeconds) s is out of range: allowed 0...\(Int(Self.maxGraceSeconds)) (--grace, \"grace_seconds\")")
        }
        guard engine.cacheTTLSeconds.isFinite, engine.cacheTTLSeconds >= 0 else {
            throw CLIFailure.usage("cache_ttl_seconds = \(engine.cacheTTLSeconds) must be a finite number of seconds, 0 or more")
        }
        guard Self.historyBackends.contains(historyBackend) else {
            throw CLIFailure.usage("history = '\(historyBackend)' is not a history store: use \(Self.historyBackends.joined(separator: " or ")) (--history, \"history\")")
        }
        guard (0...Self.maxWarmPoolMemoryMB).contains(engine.warmPools.memoryBudgetMB) else {
            throw CLIFailure.usage("warm pool memory = \(engine.warmPools.memoryBudgetMB) MB is out of range: allowed 0...\(Self.maxWarmPoolMemoryMB) (--warm-pool-memory, \"warm_pool_memory_mb\")")
        }
        guard (0...Self.maxSessions).contains(engine.sessions.maxSessions) else {
            throw CLIFailure.usage("max sessions = \(engine.sessions.maxSessions) is out of range: allowed 0...\(Self.maxSessions) (--max-sessions)")
        }
        guard engine.sessions.maxTTLSeconds.isFinite, (1...Self.maxSessionTimeout).contains(engine.sessions.maxTTLSeconds) else {
            throw CLIFailure.usage("session max timeout = \(engine.sessions.maxTTLSeconds) s is out of range: allowed 1...\(Int(Self.maxSessionTimeout)) (--session-max-timeout)")
        }
        guard (1...Self.maxSessions).contains(engine.tasks.maxRunning) else {
            throw CLIFailure.usage("max running tasks = \(engine.tasks.maxRunning) is out of range: allowed 1...\(Self.maxSessions) (--max-running-tasks)")
        }
        guard (1...10_000).contains(engine.tasks.maxSteps) else {
            throw CLIFailure.usage("max steps = \(engine.tasks.maxSteps) is out of range: allowed 1...10000 (--max-steps)")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw CLIFailure.usage("log level '\(logLevel)' is not one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")) (--log-level, CORRAL_LOG_LEVEL, \"log_level\")")
        }
    }

    /// Warm pools of `corral serve`: up to 4 jails per interpreted language, Python warmed at start,
    /// and Python's fork-server (its runs are forks of a zygote; the pool serves them when it is busy).
    static let defaultWarmPools: WarmPoolSettings = {
        var w = WarmPoolSettings()
        w.prewarm = ["python"]
        w.forkServers = Self.forkServerLanguages
        return w
    }()
    static let forkServerLanguages = ["python"]

    /// `on` or `off`: whether the languages that have a fork-server use it.
    mutating func setForkServer(_ value: String, source: String) throws {
        switch value.lowercased() {
        case "on", "true", "1": engine.warmPools.forkServers = Self.forkServerLanguages
        case "off", "false", "0": engine.warmPools.forkServers = []
        default: throw CLIFailure.usage("\(source) '\(value)' is not 'on' or 'off' (--fork-server, CORRAL_FORK_SERVER, \"fork_server\")")
        }
    }
    static let maxWarmPoolSize = 64
    static let maxWarmPoolMemoryMB = 65_536

    /// `off`, or the most warm jails a language's pool may hold.
    mutating func setWarmPool(_ value: String, source: String) throws {
        if value == "off" || value == "0" {
            engine.warmPools.maxPerLanguage = 0
            return
        }
        guard let n = Int(value), (1...Self.maxWarmPoolSize).contains(n) else {
            throw CLIFailure.usage("\(source) '\(value)' is not a pool size: use 'off' or 1...\(Self.maxWarmPoolSize) (--warm-pool, CORRAL_WARM_POOL, \"warm_pool\")")
        }
        engine.warmPools.maxPerLanguage = n
    }

    /// The default queue for `workers`: 32 waiting requests per worker, without overflowing.
    static func defaultQueueCapacity(workers: Int) -> Int {
        let (product, overflow) = workers.multipliedReportingOverflow(by: 32)
        return overflow ? Int.max : product
    }

    /// The policy mode named `text` by `source` (a flag, a variable or the file's key).
    static func policyMode(_ text: String, source: String) throws -> PolicyMode {
        guard let mode = PolicyMode(rawValue: text.lowercased()) else {
            throw CLIFailure.usage("\(source) = '\(text)' is not a policy mode: use "
                + PolicyMode.allCases.map(\.rawValue).joined(separator: ", ") + " (--policy, CORRAL_POLICY, \"policy\")")
        }
        return mode
    }

    mutating func apply(_ f: File) throws {
        if let v = f.host { http.host = v }
        if let v = f.port { http.port = v }
        if let v = f.dataDir { dataDirectory = v }
        if let v = f.workers { engine.workers = v; engine.queueCapacity = Self.defaultQueueCapacity(workers: v) }
        if let v = f.queueCapacity { engine.queueCapacity = v }
        if let v = f.apiKeys { http.apiKeys = v }
        if let v = f.cacheTtlSeconds { engine.cacheTTLSeconds = v }
        if let v = f.retentionDays { engine.retention.maxAgeDays = v }
        if let v = f.retentionRows { engine.retention.maxRows = v }
        if let v = f.graceSeconds { graceSeconds = v }
        if let v = f.history { historyBackend = v }
        if let v = f.logLevel { logLevel = v }
        if let v = f.warmPool { try setWarmPool(v.text, source: "\"warm_pool\"") }
        if let v = f.warmPoolMemoryMb { engine.warmPools.memoryBudgetMB = v }
        if let v = f.forkServer { try setForkServer(v, source: "\"fork_server\"") }
        if let v = f.policy { engine.policyMode = try Self.policyMode(v, source: "\"policy\"") }
    }

    /// `KEY` or `NAME=KEY` → name → key.
    static func parseKeys(_ items: [String]) throws -> [String: String] {
        var keys: [String: String] = [:]
        for item in items where !item.isEmpty {
            let name: String, key: String
            if let eq = item.firstIndex(of: "=") {
                name = String(item[..<eq])
                key = String(item[item.index(after: eq)...])
            } else {
                // Named by the key itself, never by its place in the list: the name owns sessions,
                // tasks and history, and removing or reordering keys must not hand them to another key.
                var hash = SHA256()
                hash.update(Array(item.utf8))
                name = "key-" + String(hash.hexDigest().prefix(16))
                key = item
            }
            // "" is the owner of everything made while the server ran without keys.
            guard !name.isEmpty else { throw CLIFailure.usage("an API key's name is empty ('=KEY'): give NAME=KEY or KEY") }
            guard keys[name] == nil else { throw CLIFailure.usage("the API key name '\(name)' is given twice") }
            keys[name] = key
        }
        return keys
    }
}

/// The file's `warm_pool`: a number (`4`) or a string (`"4"`, `"off"`), as the flag takes.
struct WarmPoolSize: Decodable {
    var text: String
    init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer()
        if let n = try? value.decode(Int.self) { text = String(n) } else { text = try value.decode(String.self) }
    }
}
