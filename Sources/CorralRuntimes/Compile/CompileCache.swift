import CorralSandbox
import Foundation
import Glibc

/// Compiled artifacts by key (language, toolchain version, compile command,
/// sources). On disk so that separate `corral` processes share it; bounded in
/// size with least-recently-used eviction; a compile of the same key already
/// in flight is awaited rather than repeated.
public actor CompileCache {
    public let root: String
    public let maxBytes: Int
    private var inFlight: [String: Task<Entry?, Never>] = [:]
    private var pins: [String: Int] = [:]

    /// A cache entry: a directory of artifacts, bound read-only at `/out` in the run jail.
    public struct Entry: Sendable {
        public var key: String
        public var directory: String
    }

    public init(root: String = CompileCache.defaultRoot, maxBytes: Int = 1 << 30) {
        self.root = root
        self.maxBytes = maxBytes
    }

    public static var defaultRoot: String {
        let env = ProcessInfo.processInfo.environment
        if let dir = env["CORRAL_COMPILE_CACHE"] { return dir }
        return (env["CORRAL_DATA_DIR"] ?? "/var/cache/corral") + "/compile"
    }

    /// The entry for `key`, if cached; marks it used.
    public func lookup(_ key: String) -> Entry? {
        let dir = root + "/" + key
        guard Posix.isDirectory(dir) else { return nil }
        utimensat(AT_FDCWD, dir, nil, 0) // last use, for LRU
        return Entry(key: key, directory: dir)
    }

    /// Returns the cached entry or runs `compile` once for all concurrent callers of the same key.
    /// `compile` fills a fresh directory and returns whether it succeeded.
    public func entry(for key: String, compile: @escaping @Sendable (String) async -> Bool) async -> (Entry?, hit: Bool) {
        if let hit = lookup(key) { return (hit, true) }
        if let running = inFlight[key] { return (await running.value, true) }
        let task = Task { await self.build(key, compile) }
        inFlight[key] = task
        let entry = await task.value
        inFlight[key] = nil
        return (entry, false)
    }

    /// Protects an entry from eviction while a run uses it.
    public func pin(_ key: String) { pins[key, default: 0] += 1 }
    public func unpin(_ key: String) {
        pins[key, default: 1] -= 1
        if pins[key] == 0 { pins[key] = nil }
    }

    private func build(_ key: String, _ compile: @Sendable (String) async -> Bool) async -> Entry? {
        do { try Posix.makeDirectories(root + "/.tmp") } catch { return nil }
        chmod(root, 0o755)
        let staging = root + "/.tmp/\(key).\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
        guard mkdir(staging, 0o755) == 0 else { return nil }
        guard await compile(staging) else {
            removeTree(staging)
            return nil
        }
        chmod(staging, 0o755)
        let final = root + "/" + key
        if rename(staging, final) != 0 {
            removeTree(staging) // another process stored the same key first: use theirs
        }
        evictIfNeeded(keeping: key)
        return lookup(key)
    }

    /// Deletes least recently used entries until the cache fits `maxBytes`.
    private func evictIfNeeded(keeping: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: root) else { return }
        var entries: [(key: String, size: Int, used: Double)] = []
        for name in names where !name.hasPrefix(".") {
            let path = root + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            entries.append((name, treeSize(path), Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9))
        }
        var total = entries.reduce(0) { $0 + $1.size }
        for entry in entries.sorted(by: { $0.used < $1.used }) where total > maxBytes {
            guard entry.key != keeping, pins[entry.key] == nil else { continue }
            removeTree(root + "/" + entry.key)
            total -= entry.size
        }
    }

    private func treeSize(_ path: String) -> Int {
        guard let walker = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total = 0
        while let item = walker.nextObject() as? String {
            var st = stat()
            if lstat(path + "/" + item, &st) == 0 { total += Int(st.st_size) }
        }
        return total
    }

    private func removeTree(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}
