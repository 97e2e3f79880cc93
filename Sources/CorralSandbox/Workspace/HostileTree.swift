import Glibc

/// Copies a directory tree written by a jail into a host directory, treating
/// every entry as hostile (SECURITY.md measure 11): never follows a symlink,
/// never opens a FIFO or device, copies only regular files and directories,
/// and stops at a total size and entry count.
public enum HostileTree {
    public struct Limits: Sendable {
        public var maxBytes: Int = 256 << 20
        public var maxEntries: Int = 10_000
        public var maxDepth: Int = 32
        public init() {}
    }

    /// Copies `source` into the existing directory `destination`. Returns the bytes copied.
    @discardableResult
    public static func copy(from source: String, to destination: String, limits: Limits = Limits()) throws(SandboxError) -> Int {
        let src = open(source, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard src >= 0 else { throw .system(call: "open", errno: errno, context: source) }
        defer { close(src) }
        let dst = open(destination, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard dst >= 0 else { throw .system(call: "open", errno: errno, context: destination) }
        defer { close(dst) }
        var budget = (bytes: limits.maxBytes, entries: limits.maxEntries)
        try copyDirectory(src, dst, depth: 0, limits: limits, budget: &budget)
        return limits.maxBytes - budget.bytes
    }

    private static func copyDirectory(_ src: Int32, _ dst: Int32, depth: Int, limits: Limits,
                                      budget: inout (bytes: Int, entries: Int)) throws(SandboxError) {
        guard depth < limits.maxDepth else { throw .invalidRequest("output tree deeper than \(limits.maxDepth) levels") }
        let listing = dup(src)
        guard listing >= 0, let dir = fdopendir(listing) else { throw .system(call: "fdopendir", errno: errno, context: "output tree") }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        for name in names {
            budget.entries -= 1
            guard budget.entries >= 0 else { throw .invalidRequest("output has more than \(limits.maxEntries) entries") }
            let fd = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
            guard fd >= 0 else { continue } // a symlink (ELOOP) or vanished entry: skipped
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                guard mkdirat(dst, name, 0o755) == 0 || errno == EEXIST else {
                    throw .system(call: "mkdirat", errno: errno, context: name)
                }
                let sub = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard sub >= 0 else { throw .system(call: "openat", errno: errno, context: name) }
                defer { close(sub) }
                try copyDirectory(fd, sub, depth: depth + 1, limits: limits, budget: &budget)
            case S_IFREG:
                let size = Int(st.st_size)
                budget.bytes -= size
                guard budget.bytes >= 0 else { throw .invalidRequest("output exceeds \(limits.maxBytes) bytes") }
                let mode: mode_t = st.st_mode & 0o111 != 0 ? 0o755 : 0o644
                let out = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
                guard out >= 0 else { throw .system(call: "openat", errno: errno, context: name) }
                defer { close(out) }
                try copyBytes(from: fd, to: out, count: size)
                fchmod(out, mode)
            default:
                continue // FIFOs, sockets, devices: never opened for reading, never copied
            }
        }
    }

    private static func copyBytes(from input: Int32, to output: Int32, count: Int) throws(SandboxError) {
        var remaining = count
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while remaining > 0 {
            let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, min($0.count, remaining)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            var written = 0
            while written < n {
                let w = buffer.withUnsafeBytes { write(output, $0.baseAddress! + written, n - written) }
                guard w > 0 else { throw .system(call: "write", errno: errno, context: "copying output") }
                written += w
            }
            remaining -= n
        }
    }
}
