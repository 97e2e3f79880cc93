import CorralRuntimes

extension EngineMetrics {
    /// Prometheus lines of the warm pools: per language, jails ready and starting, the target, runs
    /// that took a warm jail (hits), found none (misses) or fell back to a cold one, memory held,
    /// and whether the pool gave up starting jails (then 1, and `/v1/status` says why).
    static func warmPoolText(_ pools: [String: WarmPools.Snapshot]) -> String {
        guard !pools.isEmpty else { return "" }
        var out = ""
        let languages = pools.keys.sorted()
        func family(_ name: String, _ type: String, _ help: String, _ value: (WarmPools.Snapshot) -> String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for language in languages {
                guard let snapshot = pools[language] else { continue }
                out += "\(name){language=\"\(escape(language))\"} \(value(snapshot))\n"
            }
        }
        family("corral_warm_pool_ready", "gauge", "Warm jails waiting for a run.") { String($0.ready) }
        family("corral_warm_pool_starting", "gauge", "Warm jails starting.") { String($0.starting) }
        family("corral_warm_pool_target", "gauge", "Warm jails the pool keeps (grows with demand, shrinks when idle).") { String($0.target) }
        family("corral_warm_pool_hits_total", "counter", "Runs that took a warm jail.") { String($0.hits) }
        family("corral_warm_pool_misses_total", "counter", "Runs that found no warm jail ready and ran cold.") { String($0.misses) }
        family("corral_warm_pool_fallbacks_total", "counter", "Runs whose warm jail failed before the run began; they ran cold.") { String($0.fallbacks) }
        family("corral_warm_pool_memory_bytes", "gauge", "Memory the waiting warm jails hold.") { String($0.memoryBytes) }
        family("corral_warm_pool_disabled", "gauge", "1 when the pool stopped starting jails after repeated failures.") { $0.disabledReason == nil ? "0" : "1" }
        let forks = languages.compactMap { language in pools[language]?.forkServer.map { (language, $0) } }
        func forkFamily(_ name: String, _ type: String, _ help: String, _ value: (ForkServers.Snapshot) -> String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (language, snapshot) in forks { out += "\(name){language=\"\(escape(language))\"} \(value(snapshot))\n" }
        }
        guard !forks.isEmpty else { return out }
        forkFamily("corral_fork_server_up", "gauge", "1 while a zygote of the language's fork-server runs (its health).") { $0.zygotes > 0 ? "1" : "0" }
        forkFamily("corral_fork_server_zygotes", "gauge", "Zygotes running.") { String($0.zygotes) }
        forkFamily("corral_fork_server_busy", "gauge", "Forks running now.") { String($0.busy) }
        forkFamily("corral_fork_server_capacity", "gauge", "Forks the running zygotes can run at once.") { String($0.capacity) }
        forkFamily("corral_fork_server_forks_total", "counter", "Runs served by a fork of a zygote.") { String($0.forks) }
        forkFamily("corral_fork_server_fallbacks_total", "counter", "Forks that failed before their program started; the run took another jail.") { String($0.fallbacks) }
        forkFamily("corral_fork_server_restarts_total", "counter", "Zygotes started again after one died or failed to start.") { String($0.restarts) }
        forkFamily("corral_fork_server_memory_bytes", "gauge", "Memory the zygotes' jails and their parked jails hold.") { String($0.memoryBytes) }
        forkFamily("corral_fork_server_disabled", "gauge", "1 when the fork-server was given up after repeated failed starts.") { $0.disabledReason == nil ? "0" : "1" }
        return out
    }
}
