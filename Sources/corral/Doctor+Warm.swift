import CorralRuntimes
import CorralSandbox
import Foundation

extension Corral.Doctor {
    /// Whether warm jails work here: each pooled language's warm jail starts and serves one run
    /// (what `corral serve` would otherwise find out by falling back to cold jails).
    static func warmJailChecks(sandbox: Sandbox) async -> [HostReport.Check] {
        var settings = WarmPoolSettings()
        settings.maxPerLanguage = 1
        settings.failureLimit = 1
        settings.waitForJailSeconds = 20
        let runtime = Runtime(sandbox: sandbox, warmPools: settings)
        guard let pools = runtime.warmPools else { return [] }
        defer { pools.close() }
        var checks: [HostReport.Check] = []
        for language in ["python", "javascript"] where pools.languages.contains(language) {
            let code = language == "python" ? "print(6 * 7)" : "console.log(6 * 7)"
            let handle = WarmFlag()
            let started = ContinuousClock.now
            let result = await runtime.run(RunRequest(language: language, code: code)) { if $0.warm { handle.set() } }
            let ms = (ContinuousClock.now - started) / .milliseconds(1)
            let snapshot = pools.snapshot()[language]
            if handle.isSet, result.stdout == "42\n" {
                checks.append(.init(name: "warm.\(language)", ok: true,
                                    detail: String(format: "a warm jail started and served a run (%.0f ms including its start)", ms)))
            } else {
                let why = snapshot?.disabledReason ?? snapshot?.lastFallback ?? snapshot?.lastFailure ?? result.errorMessage ?? "it ran cold"
                checks.append(.init(name: "warm.\(language)", ok: false, detail: "warm jails do not work, runs will be cold: \(why)"))
            }
        }
        checks.append(await forkServerCheck(sandbox: sandbox))
        return checks
    }

    /// Whether Python's fork-server works here: its zygote starts and a fork serves one run.
    static func forkServerCheck(sandbox: Sandbox) async -> HostReport.Check {
        var settings = WarmPoolSettings()
        settings.maxPerLanguage = 0
        settings.forkServers = ["python"]
        settings.failureLimit = 1
        settings.waitForJailSeconds = 20
        let runtime = Runtime(sandbox: sandbox, warmPools: settings)
        defer { runtime.warmPools?.close() }
        let forked = WarmFlag()
        let started = ContinuousClock.now
        let result = await runtime.run(RunRequest(language: "python", code: "print(6 * 7)")) { if $0.forked { forked.set() } }
        let ms = (ContinuousClock.now - started) / .milliseconds(1)
        if forked.isSet, result.stdout == "42\n" {
            return .init(name: "fork.python", ok: true,
                         detail: String(format: "the fork-server's zygote started and a fork served a run (%.0f ms including its start)", ms))
        }
        let snapshot = runtime.warmPools?.snapshot()["python"]?.forkServer
        let why = snapshot?.disabledReason ?? snapshot?.lastFallback ?? snapshot?.lastFailure ?? result.errorMessage ?? "it ran cold"
        return .init(name: "fork.python", ok: false, detail: "the fork-server does not work, Python runs use warm or cold jails: \(why)")
    }
}

/// Set from a jail's `started` callback when the jail was warm.
private final class WarmFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
