import CCorralSyscalls
import Glibc

/// Thin wrappers over the syscalls the host side uses: retry EINTR, throw the rest with errno and context.
public enum Posix {
    @discardableResult
    public static func check(_ call: String, _ context: @autoclosure () -> String, _ body: () -> Int32) throws(SandboxError) -> Int32 {
        while true {
            let r = body()
            if r >= 0 { return r }
            let e = errno
            if e == EINTR { continue }
            throw .system(call: call, errno: e, context: context())
        }
    }

    /// A pipe with both ends close-on-exec: [read, write].
    public static func pipe(nonBlockingRead: Bool = false, nonBlockingWrite: Bool = false) throws(SandboxError) -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        try check("pipe2", "a jail pipe") { corral_pipe2_cloexec(&fds) }
        if nonBlockingRead { _ = fcntl(fds[0], F_SETFL, O_NONBLOCK) }
        if nonBlockingWrite { _ = fcntl(fds[1], F_SETFL, O_NONBLOCK) }
        return (fds[0], fds[1])
    }

    /// A connected pair of unix sockets, both close-on-exec and blocking: [child's end, parent's end].
    public static func socketPair(type: Int32 = Int32(SOCK_STREAM.rawValue)) throws(SandboxError) -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        try check("socketpair", "a jail socket") { socketpair(AF_UNIX, type | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) }
        return (fds[0], fds[1])
    }

    /// Writes all of `bytes` to a blocking descriptor (retrying short writes and EINTR); false on failure, errno set.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    /// Writes a whole small file (cgroup knobs, uid maps), no O_CREAT.
    public static func writeFile(_ path: String, _ text: String) throws(SandboxError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .system(call: "open", errno: errno, context: path) }
        defer { close(fd) }
        var bytes = Array(text.utf8)
        let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) }
        if n != bytes.count { throw .system(call: "write", errno: n < 0 ? errno : EIO, context: "\(path) <- \(text)") }
        bytes.removeAll()
    }

    /// Reads a file to its end (cgroup counters, `/proc/self/mountinfo`): `/proc` and cgroup files
    /// answer a page or so per read, so one read would see only the start of a long one.
    public static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = [], buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { return nil }
            if n == 0 { break }
            out += buffer[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The name of a directory entry from `readdir` (lossy for a name that is not UTF-8).
    static func name(of entry: UnsafeMutablePointer<dirent>) -> String {
        withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    public static func isSymlink(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK
    }

    public static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// mkdir -p on the host.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws(SandboxError) {
        var current = ""
        for part in path.pathParts() {
            current += "/" + part
            if mkdir(current, mode) != 0 && errno != EEXIST {
                throw .system(call: "mkdir", errno: errno, context: current)
            }
        }
    }

    public static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

extension Posix {
    /// Reads a whole regular file without following a final symlink.
    public static func readWholeFile(_ path: String, limit: Int = 64 << 20) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, Int(st.st_size) <= limit else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            offset += n
        }
        return Array(bytes[0..<offset])
    }
}
