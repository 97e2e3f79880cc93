import Foundation

/// The threads pattern scans run on: a few of Corral's own, not the cooperative pool (nor a
/// dispatch queue, which on Linux shares its threads with it). A scan may take up to its budget
/// (seconds on hostile code); four at once on the cooperative pool held every request of a
/// 2-core server for 9 s. At most `count` scans run at once; more wait their turn, holding no thread.
final class ScanThreads: @unchecked Sendable {
    static let shared = ScanThreads(count: max(1, min(4, ProcessInfo.processInfo.activeProcessorCount)))

    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var next = 0

    init(count: Int) {
        for i in 0..<count {
            let thread = Thread { [self] in serve() }
            thread.name = "corral-scan-\(i)"
            thread.start()
        }
    }

    /// Runs `work` on one of the threads and returns its result.
    func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            condition.lock()
            jobs.append { continuation.resume(returning: work()) }
            condition.signal()
            condition.unlock()
        }
    }

    private func serve() {
        while true {
            condition.lock()
            while next == jobs.count { condition.wait() }
            let job = jobs[next]
            next += 1
            if next == jobs.count { jobs.removeAll(keepingCapacity: true); next = 0 }
            condition.unlock()
            job()
        }
    }
}
