import CorralSandbox
import Foundation
import Glibc

/// Compiled artifacts by key (`CompileCacheKey`: every input that can change them). On disk so
/// that separate `corral` processes share it; bounded in size with least-recently-used eviction;
/// a compile of the same key already in flight is awaited rather than repeated when it succeeds.
public actor CompileCache {
    public let root: String
    public let maxBytes: Int
    private var inFlight: [String: Task<Result<Built, CompileCacheError>, Never>] = [:]
    private var pins: [String: Int] = [:]

    /// A cache entry: a directory of artifacts, bound read-only at `/out` in the run jail.
    public struct Entry: Sendable {
        public var key: String
        public var directory: String
    }

    /// What `entry(for:compile:)` found or did.
    public enum Lookup: Sendable {
        /// The artifacts were already stored; nothing was compiled.
        case cached(Entry)
        /// Compiled now: by this caller, or (`shared`) by a concurrent caller with the same key.
        case compiled(Entry, CompileResult, shared: Bool)
        /// This caller's compile failed or tripped a limit; nothing was stored.
        case failed(CompileResult)
    }

    /// What one build did.
    enum Built: Sendable {
        case stored(Entry, CompileResult)
        case failed(CompileResult)
    }

    public init(root: String = CompileCache.defaultRoot, maxBytes: Int = 1 << 30) {
        self.root = root
        self.maxBytes = maxBytes
    }

    /// Where artifacts are kept unless the caller names a directory (front ends map `--data-dir`
    /// and `CORRAL_COMPILE_CACHE` to one; a library never reads the environment).
    public static let defaultRoot = "/var/cache/corral/compile"

    /// The entry for `key`, if cached; marks it used.
    public func lookup(_ key: String) -> Entry? {
        let dir = root + "/" + key
        guard Posix.isDirectory(dir) else { return nil }
        utimensat(AT_FDCWD, dir, nil, 0) // last use, for LRU
        return Entry(key: key, directory: dir)
    }

    /// Returns the cached entry, or runs `compile` (which fills a fresh directory) and stores its
    /// artifacts when `CompileResult.isCacheable`. Concurrent callers of one key share a success.
    /// A failure is never shared: it happened under its own caller's limits, which may be smaller
    /// than the next caller's, and one tenant's failing compile must not fail another's.
    /// Throws when the host cannot hold the cache (the program is not at fault).
    public func entry(for key: String, compile: @escaping @Sendable (String) async -> CompileResult) async throws(CompileCacheError) -> Lookup {
        if let hit = lookup(key) { return .cached(hit) }
        if let running = inFlight[key] {
            if case .stored(let entry, let result) = try await running.value.get() {
                return .compiled(entry, result, shared: true)
            }
            if let hit = lookup(key) { return .cached(hit) }
            return try await build(key, compile).get().lookup // this caller's own compile, under its own limits
        }
        let task = Task { await self.build(key, compile) }
        inFlight[key] = task
        let built = await task.value
        inFlight[key] = nil
        return try built.get().lookup
    }

    /// Protects an entry from eviction while a run uses it.
    public func pin(_ key: String) { pins[key, default: 0] += 1 }
    public func unpin(_ key: String) {
        pins[key, default: 1] -= 1
        if pins[key] == 0 { pins[key] = nil }
    }

    private func build(_ key: String, _ compile: @Sendable (String) async -> CompileResult) async -> Result<Built, CompileCacheError> {
        let stagingRoot = root + "/.tmp"
        do throws(SandboxError) { try Posix.makeDirectories(stagingRoot) } catch {
            guard case .system(let call, let code, let path) = error else {
                return .failure(CompileCacheError(code: .cannotCreateDirectory, operation: "mkdir", path: stagingRoot, errno: EIO))
            }
            return .failure(CompileCacheError(code: .cannotCreateDirectory, operation: call, path: path, errno: code))
        }
        // Entries are bound into jails as the program's uid: the root must stay searchable.
        guard chmod(root, 0o755) == 0 else {
            return .failure(CompileCacheError(code: .cannotCreateDirectory, operation: "chmod", path: root, errno: errno))
        }
        let staging = stagingRoot + "/\(key).\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
        guard mkdir(staging, 0o755) == 0 else {
            return .failure(CompileCacheError(code: .cannotCreateDirectory, operation: "mkdir", path: staging, errno: errno))
        }
        let result = await compile(staging)
        guard result.isCacheable else {
            removeTree(staging)
            return .success(.failed(result))
        }
        guard chmod(staging, 0o755) == 0 else {
            let failure = errno
            removeTree(staging)
            return .failure(CompileCacheError(code: .cannotStore, operation: "chmod", path: staging, errno: failure))
        }
        let final = root + "/" + key
        if rename(staging, final) != 0 {
            let failure = errno
            removeTree(staging)
            // ENOTEMPTY/EEXIST: another process stored the same key first; use theirs.
            guard failure == ENOTEMPTY || failure == EEXIST else {
                return .failure(CompileCacheError(code: .cannotStore, operation: "rename to", path: final, errno: failure))
            }
        }
        evictIfNeeded(keeping: key)
        guard let entry = lookup(key) else {
            return .failure(CompileCacheError(code: .entryMissing, operation: "lookup", path: final, errno: 0))
        }
        return .success(.stored(entry, result))
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

extension CompileCache.Built {
    var lookup: CompileCache.Lookup {
        switch self {
        case .stored(let entry, let result): return .compiled(entry, result, shared: false)
        case .failed(let result): return .failed(result)
        }
    }
}
