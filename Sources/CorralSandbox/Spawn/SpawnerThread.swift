import CCorralJail
import Foundation

/// The one thread that clones jails. A jail's parent-death signal fires when
/// the *thread* that cloned it exits, so that thread must live as long as the
/// process; it also carries no supplementary groups for jails to inherit.
final class SpawnerThread: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []

    init() {
        // The thread keeps its spawner alive: it must outlive every jail it cloned anyway.
        let thread = Thread { self.loop() }
        thread.name = "corral-spawner"
        thread.start()
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
        _ = corral_thread_drop_supplementary_groups()
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}
