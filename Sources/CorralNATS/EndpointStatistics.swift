import Foundation
import Synchronization

/// ADR-32's per-endpoint figures (`$SRV.STATS`): requests, errors, the last error, processing time.
final class EndpointStatistics: Sendable {
    struct Endpoint {
        var requests = 0
        var errors = 0
        var lastError = ""
        var processingNanoseconds: UInt64 = 0
    }
    private let endpoints = Mutex<[String: Endpoint]>([:])

    func record(_ name: String, since start: ContinuousClock.Instant, error: String?) {
        let elapsed = ContinuousClock.now - start
        let ns = UInt64(max(0, elapsed.components.seconds)) &* 1_000_000_000 &+ UInt64(max(0, elapsed.components.attoseconds / 1_000_000_000))
        endpoints.withLock { all in
            var e = all[name] ?? Endpoint()
            e.requests += 1
            e.processingNanoseconds &+= ns
            if let error {
                e.errors += 1
                e.lastError = String(error.prefix(500))
            }
            all[name] = e
        }
    }

    func snapshot(_ name: String) -> Endpoint { endpoints.withLock { $0[name] ?? Endpoint() } }
}
