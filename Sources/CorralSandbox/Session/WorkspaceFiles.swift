import CCorralSyscalls
import Glibc

/// The files API of a session, done from the host on its workspace directory. Every path is
/// relative to the workspace and resolved with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`:
/// no `..` out of it, no absolute path, and no symlink followed, whether it was there before the
/// request or swapped in during it (each step works on descriptors, never on a path twice).
/// What the host creates belongs to the session's program uid.
public struct WorkspaceFiles: Sendable {
    /// O_PATH (a descriptor that only names a place), which Swift's Glibc module does not export (it is built without _GNU_SOURCE).
    static let oPath: Int32 = 0o10000000

    public let root: String
    public let owner: UInt32

    /// How deep the host walks a tree the session wrote (removing, copying, archiving, listing
    /// changes). Code in a jail makes 100,000 nested directories in a second; walked to the bottom,
    /// that is a recursion deep enough to overflow a server thread's stack, with paths whose lengths
    /// add up to gigabytes. Real trees (node_modules included) stay far below it.
    public static let maxDepth = 256

    public init(root: String, owner: UInt32) { self.root = root; self.owner = owner }

    public enum Failure: Error, Sendable, Equatable {
        /// The path itself is not acceptable (why, in words).
        case invalidPath(String)
        case notFound(String)
        /// A component is a symlink, which the API never follows.
        case symlink(String)
        case tooLarge(String)
        case system(String)
    }

    public struct Entry: Sendable, Equatable {
        public enum Kind: String, Sendable { case file, directory, symlink, other }
        public var name: String
        public var path: String
        public var kind: Kind
        public var size: Int64
        public var mode: UInt32
        public var modifiedAt: Double
        /// For a symlink: where it points (never followed).
        public var target: String?
    }

    /// Checks and normalises a request path: relative to the workspace, a leading `/workspace/`
    /// or `/` accepted as the workspace itself. Empty means the workspace.
    public static func normalise(_ path: String) throws(Failure) -> String {
        if path.utf8.contains(0) { throw .invalidPath("'\(path)' contains a NUL byte") }
        // Bytes, not characters (PathText): a '/' joined to a neighbouring scalar is still a '/'.
        var p = path
        if let rest = path.droppingPathPrefix("/workspace/") { p = rest } else if path.isBytewise("/workspace") { p = "" }
        else if path.hasPathPrefix("/") {
            throw .invalidPath("'\(path)' is outside the workspace: give a path relative to /workspace (or starting with /workspace/)")
        }
        let parts = p.pathParts().filter { !$0.isBytewise(".") }
        if parts.contains(where: { $0.isBytewise("..") }) { throw .invalidPath("'\(path)' contains '..': paths stay inside the workspace") }
        if path.unicodeScalars.count > 4000 { throw .invalidPath("'\(path.prefix(80))…' is longer than 4000 characters") }
        let joined = parts.joined(separator: "/")
        return joined
    }

    /// Opens `relative` (normalised) beneath the root.
    func open(_ relative: String, _ flags: Int32, mode: mode_t = 0) throws(Failure) -> Int32 {
        let rootFD = Glibc.open(root, Self.oPath | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { throw .system("the workspace is gone (\(String(cString: strerror(errno))))") }
        defer { close(rootFD) }
        if relative.isEmpty {
            let fd = Glibc.openat(rootFD, ".", flags | O_CLOEXEC)
            guard fd >= 0 else { throw Self.failure(errno, ".") }
            return fd
        }
        let fd = corral_open_beneath(rootFD, relative, flags, UInt32(mode), 1)
        if fd >= 0 { return fd }
        throw Self.failure(-fd, relative)
    }

    static func failure(_ e: Int32, _ path: String) -> Failure {
        switch e {
        case ENOENT: .notFound("'\(path)' does not exist in the workspace")
        case ELOOP: .symlink("'\(path)' is or passes through a symlink, which the files API never follows")
        case EXDEV: .invalidPath("'\(path)' leads outside the workspace")
        case ENOTDIR: .invalidPath("a component of '\(path)' is not a directory")
        case EISDIR: .invalidPath("'\(path)' is a directory")
        case ENOSPC: .tooLarge("the workspace is full (its disk_mb limit)")
        case EFBIG: .tooLarge("the file is larger than the session allows")
        case ENAMETOOLONG: .notFound("'\(path.prefix(80))…' has a name longer than the file system holds (255 bytes a name)")
        default: .system("'\(path)': \(String(cString: strerror(e)))")
        }
    }

    /// What is at `path`: one entry (not followed when a symlink).
    public func stat(_ path: String) throws(Failure) -> Entry {
        let relative = try Self.normalise(path)
        let (parent, name) = Self.split(relative)
        let dirFD = try open(parent, Self.oPath | O_DIRECTORY)
        defer { close(dirFD) }
        return try Self.entry(dirFD, name.isEmpty ? "." : name, path: relative)
    }

    static func entry(_ dirFD: Int32, _ name: String, path: String) throws(Failure) -> Entry {
        var st = Glibc.stat()
        guard fstatat(dirFD, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { throw failure(errno, path) }
        let type = st.st_mode & S_IFMT
        let kind: Entry.Kind = type == S_IFREG ? .file : type == S_IFDIR ? .directory : type == S_IFLNK ? .symlink : .other
        var target: String?
        if kind == .symlink {
            var buffer = [CChar](repeating: 0, count: 4097)
            let n = readlinkat(dirFD, name, &buffer, 4096)
            if n >= 0 { target = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        }
        return Entry(name: path.pathParts().last ?? "", path: path, kind: kind, size: Int64(st.st_size),
                     mode: UInt32(st.st_mode & 0o7777),
                     modifiedAt: Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9, target: target)
    }

    /// A directory's entries, sorted by name; at most `limit`.
    public func list(_ path: String, limit: Int = 10_000) throws(Failure) -> [Entry] {
        let relative = try Self.normalise(path)
        let fd = try open(relative, O_RDONLY | O_DIRECTORY)
        guard let dir = fdopendir(fd) else { close(fd); throw .system("cannot list '\(relative)'") }
        defer { closedir(dir) }
        var entries: [Entry] = []
        while let e = readdir(dir) {
            let name = Posix.name(of: e)
            if name == "." || name == ".." { continue }
            if entries.count >= limit { throw .tooLarge("'\(relative)' holds more than \(limit) entries; list a subdirectory") }
            if let entry = try? Self.entry(dirfd(dir), name, path: relative.isEmpty ? name : relative + "/" + name) { entries.append(entry) }
        }
        return entries.sorted { $0.name < $1.name }
    }

    /// A regular file's bytes (at most `limit`).
    public func read(_ path: String, limit: Int) throws(Failure) -> [UInt8] {
        let relative = try Self.normalise(path)
        let fd = try open(relative, O_RDONLY | O_NONBLOCK)
        defer { close(fd) }
        var st = Glibc.stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { throw .invalidPath("'\(relative)' is not a regular file") }
        guard st.st_size <= limit else { throw .tooLarge("'\(relative)' is \(st.st_size) bytes; at most \(limit) are read at once") }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            offset += n
        }
        return Array(bytes[0..<offset])
    }

    /// Writes `bytes` at `path` atomically (a temporary file renamed over it), creating parents.
    public func write(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws(Failure) {
        let relative = try Self.normalise(path)
        guard !relative.isEmpty else { throw .invalidPath("a file needs a name: the workspace itself is a directory") }
        let (parent, name) = Self.split(relative)
        let dirFD = try makeDirectories(parent)
        defer { close(dirFD) }
        let temp = ".corral-\(UInt64.random(in: 0...UInt64.max))"
        let fd = openat(dirFD, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw Self.failure(errno, relative) }
        fchown(fd, owner, owner)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                let e = n < 0 ? errno : EIO
                close(fd); unlinkat(dirFD, temp, 0)
                throw Self.failure(e, relative)
            }
            offset += n
        }
        close(fd)
        guard renameat(dirFD, temp, dirFD, name) == 0 else {
            let e = errno
            unlinkat(dirFD, temp, 0)
            throw Self.failure(e, relative)
        }
    }

    /// Opens (creating as needed) the directory `relative`, one component at a time, never through a symlink.
    /// Creates a directory and its missing parents.
    public func makeDirectory(_ path: String) throws(Failure) {
        close(try makeDirectories(try Self.normalise(path)))
    }

    func makeDirectories(_ relative: String) throws(Failure) -> Int32 {
        var fd = try open("", Self.oPath | O_DIRECTORY)
        var walked = ""
        for part in relative.pathParts() {
            let name = part
            walked += walked.isEmpty ? name : "/" + name
            if mkdirat(fd, name, 0o755) == 0 {
                fchownat(fd, name, owner, owner, AT_SYMLINK_NOFOLLOW)
            } else if errno != EEXIST {
                let e = errno; close(fd); throw Self.failure(e, walked)
            }
            let next = corral_open_beneath(fd, name, Self.oPath | Int32(O_DIRECTORY), 0, 1)
            close(fd)
            guard next >= 0 else { throw Self.failure(-next, walked) }
            fd = next
        }
        return fd
    }

    /// Removes a file, a symlink (not its target) or a directory tree.
    public func remove(_ path: String) throws(Failure) {
        let relative = try Self.normalise(path)
        guard !relative.isEmpty else { throw .invalidPath("the workspace itself cannot be removed") }
        let (parent, name) = Self.split(relative)
        let dirFD = try open(parent, Self.oPath | O_DIRECTORY)
        defer { close(dirFD) }
        if unlinkat(dirFD, name, 0) == 0 { return }
        guard errno == EISDIR else { throw Self.failure(errno, relative) }
        try Self.removeTree(dirFD, Array(name.utf8CString), path: relative, depth: relative.split(separator: "/").count)
    }

    /// Removes a directory tree beneath `parentFD`. Names are kept as the bytes the kernel gave
    /// (a name that is not UTF-8 must reach `unlinkat` as it is). `depth`: the tree's own, in the
    /// workspace; past `maxDepth` nothing more is removed and the caller is told how to.
    static func removeTree(_ parentFD: Int32, _ name: [CChar], path: String, depth: Int) throws(Failure) {
        guard depth <= maxDepth else {
            throw .tooLarge("'\(path.prefix(120))…' is more than \(maxDepth) directories deep, deeper than the files API walks: "
                + "remove it from inside the session (rm -rf)")
        }
        let fd = corral_open_beneath(parentFD, name, O_RDONLY | Int32(O_DIRECTORY), 0, 1)
        guard fd >= 0 else { throw failure(-fd, path) }
        guard let dir = fdopendir(fd) else { close(fd); throw .system("cannot list '\(path)'") }
        var children: [[CChar]] = []
        while let e = readdir(dir) {
            let raw = withUnsafeBytes(of: e.pointee.d_name) { Array($0.prefix { $0 != 0 }).map { CChar(bitPattern: $0) } }
            if raw != [46] && raw != [46, 46] { children.append(raw + [0]) }
        }
        for child in children where unlinkat(dirfd(dir), child, 0) != 0 {
            let shown = path + "/" + String(decoding: child.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard errno == EISDIR else { closedir(dir); throw failure(errno, shown) }
            do throws(Failure) { try removeTree(dirfd(dir), child, path: shown, depth: depth + 1) } catch { closedir(dir); throw error }
        }
        closedir(dir)
        guard unlinkat(parentFD, name, AT_REMOVEDIR) == 0 else { throw failure(errno, path) }
    }

    /// Moves `from` to `to` (both in the workspace), creating `to`'s parents; refuses to replace a directory.
    public func move(_ from: String, to: String) throws(Failure) {
        let source = try Self.normalise(from), destination = try Self.normalise(to)
        guard !source.isEmpty, !destination.isEmpty else { throw .invalidPath("the workspace itself cannot be moved") }
        let (sp, sn) = Self.split(source), (dp, dn) = Self.split(destination)
        let sFD = try open(sp, Self.oPath | O_DIRECTORY)
        defer { close(sFD) }
        let dFD = try makeDirectories(dp)
        defer { close(dFD) }
        guard renameat(sFD, sn, dFD, dn) == 0 else { throw Self.failure(errno, errno == ENOENT ? source : destination) }
    }

    static func split(_ relative: String) -> (parent: String, name: String) {
        let bytes = relative.utf8
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return ("", relative) }
        return (String(decoding: bytes[..<slash], as: UTF8.self), String(decoding: bytes[bytes.index(after: slash)...], as: UTF8.self))
    }
}
