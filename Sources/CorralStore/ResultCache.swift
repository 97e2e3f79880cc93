import CorralSandbox
import Foundation
import Synchronization

/// Results of earlier identical requests (seed 000's cache). In memory by
/// default; Redis can implement the same protocol later.
public protocol ResultCache: Sendable {
    func get(_ key: String) async -> RunResult?
    func set(_ key: String, _ result: RunResult, ttlSeconds: Double) async
}

/// An in-memory LRU with a TTL per entry, bounded by entry count and bytes.
public final class MemoryResultCache: ResultCache {
    private struct Entry {
        var result: RunResult
        var expires: Date
        var bytes: Int
        var lastUse: UInt64
    }
    private struct State {
        var entries: [String: Entry] = [:]
        var bytes = 0
        var clock: UInt64 = 0
    }
    private let state = Mutex(State())
    public let maxEntries: Int
    public let maxBytes: Int

    public init(maxEntries: Int = 10_000, maxBytes: Int = 256 << 20) {
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
    }

    public func get(_ key: String) async -> RunResult? {
        state.withLock { s in
            guard var entry = s.entries[key] else { return nil }
            if entry.expires < Date() {
                s.bytes -= entry.bytes
                s.entries[key] = nil
                return nil
            }
            s.clock += 1
            entry.lastUse = s.clock
            s.entries[key] = entry
            return entry.result
        }
    }

    public func set(_ key: String, _ result: RunResult, ttlSeconds: Double) async {
        let bytes = result.stdout.utf8.count + result.stderr.utf8.count + 512
        guard bytes <= maxBytes else { return }
        state.withLock { s in
            s.clock += 1
            if let old = s.entries[key] { s.bytes -= old.bytes }
            s.entries[key] = Entry(result: result, expires: Date().addingTimeInterval(ttlSeconds), bytes: bytes, lastUse: s.clock)
            s.bytes += bytes
            while s.entries.count > maxEntries || s.bytes > maxBytes {
                guard let victim = s.entries.min(by: { $0.value.lastUse < $1.value.lastUse }) else { break }
                s.bytes -= victim.value.bytes
                s.entries[victim.key] = nil
            }
        }
    }

    public var count: Int { state.withLock { $0.entries.count } }
}
