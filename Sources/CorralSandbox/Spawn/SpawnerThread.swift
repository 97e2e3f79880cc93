import CCorralJail
import Foundation
import Synchronization

/// The one thread that clones jails. A jail's parent-death signal fires when
/// the *thread* that cloned it exits, so that thread must live as long as the
/// process; it also carries no supplementary groups for jails to inherit.
final class SpawnerThread: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []

    /// Starts the thread; throws when it cannot shed the host's supplementary groups, which every
    /// jail it clones would otherwise carry (a jail cannot drop them itself under `setgroups=deny`).
    init() throws(SandboxError) {
        let ready = DispatchSemaphore(value: 0)
        let dropped = Mutex<Int32>(0)
        // The thread keeps its spawner alive: it must outlive every jail it cloned anyway.
        let thread = Thread {
            dropped.withLock { $0 = corral_thread_drop_supplementary_groups() }
            ready.signal()
            self.loop()
        }
        thread.name = "corral-spawner"
        thread.start()
        ready.wait()
        let result = dropped.withLock { $0 }
        if result < 0 {
            throw .system(call: "setgroups", errno: -result, context: "dropping the spawner thread's supplementary groups (Corral must run as root)")
        }
    }

    /// Runs `body` on the spawner thread and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws(SandboxError) -> T) async throws(SandboxError) -> T {
        let result: Result<T, SandboxError> = await withCheckedContinuation { continuation in
            submit {
                do throws(SandboxError) { continuation.resume(returning: .success(try body())) } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}
