import CorralEngine
import Foundation

/// Blocking engine work (a session's teardown: its processes killed, its cgroup removed, a
/// workspace of a million files deleted) on a thread of its own. A cooperative thread that waits
/// seconds stalls every request on this 2-core machine's pool of two.
enum OwnThread {
    static func run<T: Sendable>(_ name: String, _ body: @escaping @Sendable () throws(EngineError) -> T) async throws(EngineError) -> T {
        let result: Result<T, EngineError> = await withCheckedContinuation { continuation in
            let thread = Thread {
                do throws(EngineError) { continuation.resume(returning: .success(try body())) } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            thread.name = name
            thread.start()
        }
        return try result.get()
    }
}
