import Foundation
import Glibc

extension ServicePool {
    /// An idle live worker, else the right to start one while under `maximumWorkers`, else the
    /// next worker given back (requests wait in arrival order).
    func lease() async -> Lease {
        var dead: [ServiceJail] = []
        let immediate: Lease? = state.withLock { s in
            if s.closed { return .closed }
            while let worker = s.idle.popLast() {
                // Killed while idle (by the OOM killer, an operator, a test): replace it, never hand it out.
                if worker.isAlive { return .worker(worker) }
                s.live[worker.pid] = nil
                dead.append(worker)
            }
            if s.live.count + s.starting < configuration.maximumWorkers {
                s.starting += 1
                return .start
            }
            return nil
        }
        dead.forEach(retireInBackground)
        if let immediate { return immediate }
        return await withCheckedContinuation { continuation in
            let now: Lease? = state.withLock { s in
                if s.closed { return .closed }
                if let worker = s.idle.popLast() { return .worker(worker) }
                if s.live.count + s.starting < configuration.maximumWorkers {
                    s.starting += 1
                    return .start
                }
                s.waiters.append(continuation)
                return nil
            }
            if let now { continuation.resume(returning: now) }
        }
    }

    /// Starts a worker in a fresh jail (the caller holds a `.start` lease).
    func startWorker() async -> Result<ServiceJail, ServiceFailure> {
        let worker: ServiceJail
        do throws(SandboxError) {
            worker = try await sandbox.startServiceJail(configuration.spec, maxReplyBytes: configuration.maxReplyBytes)
        } catch {
            state.withLock { $0.starting -= 1 }
            handOffCapacity()
            return .failure(ServiceFailure(.unavailable, "could not start a worker jail: \(error)"))
        }
        let kept = state.withLock { s in
            s.starting -= 1
            guard !s.closed else { return false }
            s.live[worker.pid] = worker
            s.started += 1
            return true
        }
        guard kept else {
            retireInBackground(worker)
            return .failure(ServiceFailure(.unavailable, "the worker pool is shut down"))
        }
        return .success(worker)
    }

    /// Back from a request: a healthy worker with requests left serves the next waiter or idles;
    /// any other is destroyed, and its place goes to a waiter, who starts a fresh one.
    func giveBack(_ worker: ServiceJail, healthy: Bool) {
        if healthy, worker.served < configuration.requestsPerWorker {
            let waiter: CheckedContinuation<Lease, Never>?? = state.withLock { s in
                guard !s.closed else { return nil }
                if !s.waiters.isEmpty { return .some(s.waiters.removeFirst()) }
                s.idle.append(worker)
                return .some(nil)
            }
            switch waiter {
            case .some(.some(let next)): next.resume(returning: .worker(worker)); return
            case .some(.none): return
            case .none: break // closed: destroy below
            }
        }
        state.withLock { s in s.live[worker.pid] = nil }
        retireInBackground(worker)
        handOffCapacity()
    }

    /// Gives the first waiter the right to start a worker when there is room for one.
    func handOffCapacity() {
        let waiter = state.withLock { s -> CheckedContinuation<Lease, Never>? in
            guard !s.closed, !s.waiters.isEmpty, s.live.count + s.starting < configuration.maximumWorkers else { return nil }
            s.starting += 1
            return s.waiters.removeFirst()
        }
        waiter?.resume(returning: .start)
    }

    /// Kills and reaps `worker` on a thread of its own: reaping and removing a v1 cgroup can take
    /// milliseconds, which must not hold a thread of the cooperative pool.
    func retireInBackground(_ worker: ServiceJail) {
        worker.kill()
        let thread = Thread { worker.destroy() }
        thread.name = "corral-service-reap"
        thread.start()
    }
}
