import CorralSandbox
import Foundation

/// Warm sessions: jails with their agent started and greeted before any create asks for them.
/// One fits a create whose workspace is a scratch tmpfs of the default size and that asks for no
/// network; its memory, processes and CPU share are then set on its cgroup (they may go up or down:
/// the agent alone holds ~10 MB and 2 threads, under every minimum). Nothing of a warm session is
/// shared with another: it is a whole jail, taken once.
extension SessionManager {
    /// The limits a warm session starts with: the defaults, with the largest file size (its
    /// workspace tmpfs bounds what it writes) so that any later limits fit under the rlimit.
    var warmLimits: ResourceLimits {
        var limits = ResourceLimits()
        limits.timeoutSeconds = ResourceLimits.maximum.timeoutSeconds
        limits.memoryMB = settings.defaultMemoryMB
        limits.processes = settings.defaultProcesses
        limits.workspaceMB = settings.defaultDiskMB
        limits.tmpMB = min(settings.defaultDiskMB, ResourceLimits.maximum.tmpMB)
        limits.fileSizeMB = min(settings.defaultDiskMB, ResourceLimits.maximum.fileSizeMB)
        limits.openFiles = 1024
        return limits
    }

    /// A warm session retargeted to `plan`'s limits, if one fits and is still alive.
    func takeWarm(for plan: SessionPlan) -> Launched? {
        guard plan.workspace == .scratch, !plan.allowNetwork, plan.limits.workspaceMB == settings.defaultDiskMB else { return nil }
        while let launched = state.withLock({ s in s.warm.isEmpty ? nil : s.warm.removeFirst() }) {
            guard launched.agent.endReason == nil, launched.jail.endReason == nil else {
                launched.jail.destroy()
                continue
            }
            do throws(SandboxError) {
                try launched.jail.retarget(plan.limits, replacing: launched.limits)
            } catch {
                launched.jail.destroy()
                continue
            }
            var taken = launched
            taken.limits = plan.limits
            return taken
        }
        return nil
    }

    /// Starts warm sessions up to `warmSessions`, in the background.
    func refillWarm() {
        let wanted = state.withLock { s -> Int in
            guard !s.closed else { return 0 }
            let n = max(0, settings.warmSessions - s.warm.count - s.warming)
            s.warming += n
            return n
        }
        guard wanted > 0 else { return }
        let limits = warmLimits
        Task {
            for _ in 0..<wanted {
                let launched = try? await self.launch(limits: limits, workspace: .scratch, network: false)
                let leftover = self.state.withLock { s -> Launched? in
                    s.warming -= 1
                    guard let launched else { return nil }
                    if s.closed { return launched }
                    s.warm.append(launched)
                    return nil
                }
                leftover?.jail.destroy()
                if launched == nil { return }  // the host cannot start one now: the next create tries again
            }
        }
    }

    /// Warm sessions ready now.
    public var warmCount: Int { state.withLock { $0.warm.count } }
}
