import CCorralSyscalls
import Glibc
import Synchronization

/// What a shadow session changed, read from its overlay's upper layer alone (O(changes), never a
/// walk of the host tree), and how to write chosen changes back to the host directory.
///
/// The upper layer holds every file the session created or wrote (whole: no metacopy), every
/// directory it created, and a whiteout (a 0/0 character device) for every path it deleted; an
/// opaque directory (`trusted.overlay.opaque`) replaced the host's directory of that name.
public final class ShadowChanges: Sendable {
    public let upper: String
    public let host: String
    /// The session's read-only bind of the host directory (`SessionWorkspace.lowerDirectory`): `host` is a
    /// path, resolved again at each use, and must still name the directory that bind holds.
    public let lower: String?
    /// When the session began: a host file whose ctime is later changed under it (a conflict)…
    public let since: Double
    /// …unless that change was this session's own apply (the ctime it left, by path).
    private let applied = Mutex<[String: Double]>([:])

    /// The most bytes one apply writes: what the session's disk (`disk_mb`, its upper layer's size) holds.
    /// A sparse file there costs the session nothing (tmpfs counts written blocks), and would be written
    /// out on the host whole, zeros and all: 100,000 of them at `disk_mb` each fill any host disk.
    public let maxBytes: Int

    public init(upper: String, host: String, since: Double, lower: String? = nil, maxBytes: Int = .max) {
        self.upper = upper; self.host = host; self.since = since; self.lower = lower; self.maxBytes = maxBytes
    }

    /// Opens the host directory, or -1 (errno ESTALE) when its path no longer names the directory the
    /// session mounted: a component replaced by a symlink since (another session's apply makes them)
    /// would have this root process read and write wherever it points.
    func openHost() throws(Failure) -> Int32 {
        let fd = Glibc.open(host, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .failed("the host directory \(host) cannot be opened (\(String(cString: strerror(errno))))") }
        guard let lower else { return fd }
        var opened = stat(), mounted = stat()
        guard fstat(fd, &opened) == 0, stat(lower, &mounted) == 0, opened.st_dev == mounted.st_dev, opened.st_ino == mounted.st_ino else {
            close(fd)
            throw .hostReplaced("the host path \(host) no longer names the directory this session mounted (a part of it was "
                + "replaced since, by a symlink or another directory): nothing was read or written there; end the session")
        }
        return fd
    }

    public struct Change: Sendable, Equatable {
        public enum Kind: String, Sendable { case added, modified, deleted }
        public var path: String
        public var kind: Kind
        public var type: WorkspaceFiles.Entry.Kind
    }

    public enum Failure: Error, Sendable, Equatable {
        case conflicts([String])
        /// A path that cannot be in the workspace (`..`, absolute).
        case invalidPath(String)
        /// More changes than one answer lists (`maxChanges`).
        case tooMany
        /// The host directory holds a symlink or a file where a change needs a directory (never followed).
        case blocked([String])
        /// FIFOs, sockets or devices the session made: the host directory never gets them.
        case special([String])
        case notChanged([String])
        /// The session made directories deeper than the host walks (`WorkspaceFiles.maxDepth`).
        case tooDeep(String)
        /// The chosen files hold more than `maxBytes`.
        case tooLarge(String)
        /// The host path no longer names the directory the session mounted (a component was replaced,
        /// by a symlink say): nothing is read or written through it.
        case hostReplaced(String)
        case failed(String)
    }

    /// At most this many changes are listed; beyond it the caller is told to apply in parts.
    public static let maxChanges = 100_000
    /// …and at most this many bytes of their paths: 256 levels of 255-byte names make a path of 64 KiB
    /// (three times that when the names are not UTF-8, each bad byte a U+FFFD), 100,000 of them 6 to 19 GB.
    public static let maxPathBytes = 64 << 20

    public func changes() throws(Failure) -> [Change] {
        let upperFD = Glibc.open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard upperFD >= 0 else { throw .failed("the session's changes cannot be read (\(String(cString: strerror(errno))))") }
        let hostFD: Int32
        do throws(Failure) { hostFD = try openHost() } catch { close(upperFD); throw error }
        defer { close(upperFD); close(hostFD) }
        var out: [Change] = [], bytes = 0
        try walk(upperFD, "", depth: 1, hostFD: hostFD, into: &out, bytes: &bytes)
        return out.sorted { $0.path < $1.path }
    }

    private func walk(_ dirFD: Int32, _ prefix: String, depth: Int, hostFD: Int32, into out: inout [Change], bytes: inout Int) throws(Failure) {
        guard depth <= WorkspaceFiles.maxDepth else { throw .tooDeep(prefix) }
        for name in Self.names(dirFD) {
            let path = prefix.isEmpty ? name : prefix + "/" + name
            bytes += path.utf8.count
            guard out.count < Self.maxChanges, bytes <= Self.maxPathBytes else { throw .tooMany }
            var st = stat()
            guard fstatat(dirFD, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            let lower = Self.lstat(hostFD, path)
            let type = st.st_mode & S_IFMT
            if type == S_IFCHR && st.st_rdev == 0 {
                if let lower { out.append(Change(path: path, kind: .deleted, type: Self.kind(lower.st_mode))) }
                continue
            }
            if type == S_IFDIR {
                if let lower, lower.st_mode & S_IFMT == S_IFDIR {
                    let child = openat(dirFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    guard child >= 0 else { continue }
                    defer { close(child) }
                    try walk(child, path, depth: depth + 1, hostFD: hostFD, into: &out, bytes: &bytes)
                    // Opaque: the session's directory hides the host's, so what only the host has is deleted.
                    if Self.isOpaque(dirFD, name) {
                        let hostDir = corral_open_beneath(hostFD, path, O_RDONLY | Int32(O_DIRECTORY), 0, 1)
                        guard hostDir >= 0 else { continue }
                        defer { close(hostDir) }
                        for gone in Self.names(hostDir) {
                            var probe = stat()
                            guard fstatat(child, gone, &probe, AT_SYMLINK_NOFOLLOW) != 0, let was = Self.lstat(hostFD, path + "/" + gone) else { continue }
                            bytes += path.utf8.count + 1 + gone.utf8.count
                            guard out.count < Self.maxChanges, bytes <= Self.maxPathBytes else { throw .tooMany }
                            out.append(Change(path: path + "/" + gone, kind: .deleted, type: Self.kind(was.st_mode)))
                        }
                    }
                    continue
                }
                if let lower { out.append(Change(path: path, kind: .deleted, type: Self.kind(lower.st_mode))) }
                out.append(Change(path: path, kind: .added, type: .directory))
                let child = openat(dirFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard child >= 0 else { continue }
                defer { close(child) }
                try walkAdded(child, path, depth: depth + 1, into: &out, bytes: &bytes)
                continue
            }
            guard let lower else { out.append(Change(path: path, kind: .added, type: Self.kind(st.st_mode))); continue }
            if lower.st_mode & S_IFMT == S_IFDIR {  // a directory the session replaced with a file or a link
                out.append(Change(path: path, kind: .deleted, type: .directory))
                out.append(Change(path: path, kind: .added, type: Self.kind(st.st_mode)))
                continue
            }
            if Self.kind(lower.st_mode) != Self.kind(st.st_mode) {
                out.append(Change(path: path, kind: .modified, type: Self.kind(st.st_mode)))
            } else if !sameContent(dirFD, name, st, hostFD: hostFD, path: path, lower: lower) {
                out.append(Change(path: path, kind: .modified, type: Self.kind(st.st_mode)))
            }
        }
    }

    /// Everything under a directory the session created is added.
    private func walkAdded(_ dirFD: Int32, _ prefix: String, depth: Int, into out: inout [Change], bytes: inout Int) throws(Failure) {
        guard depth <= WorkspaceFiles.maxDepth else { throw .tooDeep(prefix) }
        for name in Self.names(dirFD) {
            let path = prefix + "/" + name
            bytes += path.utf8.count
            guard out.count < Self.maxChanges, bytes <= Self.maxPathBytes else { throw .tooMany }
            var st = stat()
            guard fstatat(dirFD, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            if st.st_mode & S_IFMT == S_IFCHR && st.st_rdev == 0 { continue }
            out.append(Change(path: path, kind: .added, type: Self.kind(st.st_mode)))
            if st.st_mode & S_IFMT == S_IFDIR {
                let child = openat(dirFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard child >= 0 else { continue }
                defer { close(child) }
                try walkAdded(child, path, depth: depth + 1, into: &out, bytes: &bytes)
            }
        }
    }

    /// Same bytes (or link target) and same permission bits as the host's: a copy-up without an edit.
    private func sameContent(_ dirFD: Int32, _ name: String, _ st: stat, hostFD: Int32, path: String, lower: stat) -> Bool {
        guard st.st_mode & 0o7777 == lower.st_mode & 0o7777 else { return false }
        if st.st_mode & S_IFMT == S_IFLNK {
            return Self.readLink(dirFD, name) == Self.readLinkBeneath(hostFD, path)
        }
        guard st.st_mode & S_IFMT == S_IFREG, st.st_size == lower.st_size else { return false }
        // Non-blocking and checked once open: a file swapped for a FIFO meanwhile is never read.
        let a = openat(dirFD, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        let b = corral_open_beneath(hostFD, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0, 1)
        defer { if a >= 0 { close(a) }; if b >= 0 { close(b) } }
        guard a >= 0, b >= 0, Self.isRegular(a), Self.isRegular(b) else { return false }
        var x = [UInt8](repeating: 0, count: 65536), y = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = Self.readFull(a, &x), m = Self.readFull(b, &y)
            if n != m { return false }
            if n <= 0 { return n == 0 }
            if x[0..<n] != y[0..<n] { return false }
        }
    }

    // MARK: - Reading both sides

    /// The host's bytes and the session's bytes of one changed file (nil where it does not exist or
    /// is not a regular file), at most `limit` each.
    public func contents(_ path: String, limit: Int) -> (old: [UInt8]?, new: [UInt8]?) {
        let hostFD: Int32
        do throws(Failure) { hostFD = try openHost() } catch { hostFD = -1 }  // replaced or unreadable: nothing is read there
        let upperFD = Glibc.open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { if hostFD >= 0 { close(hostFD) }; if upperFD >= 0 { close(upperFD) } }
        return (Self.readBeneath(hostFD, path, limit: limit), Self.readBeneath(upperFD, path, limit: limit))
    }

    // MARK: - Apply

    /// Writes the changes at `paths` (all changes when nil) back to the host directory. Refuses,
    /// touching nothing, when a path is not a change or a host file changed since the session
    /// began (unless `force`). Each file lands atomically (temporary file, rename); nothing is
    /// followed through a symlink in the host directory. Returns the changes applied.
    public func apply(paths: [String]?, force: Bool) throws(Failure) -> [Change] {
        let all = try changes()
        var chosen: [Change]
        if let paths {
            var normalised: [String] = []
            for path in paths {
                do throws(WorkspaceFiles.Failure) { normalised.append(try WorkspaceFiles.normalise(path)) } catch { throw .invalidPath(path) }
            }
            // By bytes and by component, one walk down a tree per path: never every change against every
            // path named (100,000 changes × the 300,000 paths a 2 MiB body holds).
            var wanted = PathTree(), changed = PathTree()
            for path in normalised where !path.isEmpty { wanted.insert(path) }
            for change in all { changed.insert(change.path) }
            chosen = all.filter { wanted.covers($0.path) }
            let missing = Set(normalised.filter { $0.isEmpty || !changed.holds($0) })
            if !missing.isEmpty { throw .notChanged(missing.sorted()) }
        } else {
            chosen = all
        }
        let hostFD = try openHost()
        defer { close(hostFD) }
        if !force {
            let replaced = Set(chosen.filter { $0.kind == .deleted }.map(\.path))
            let conflicts = chosen.compactMap { change -> String? in
                guard let now = Self.lstat(hostFD, change.path) else {
                    return change.kind == .added ? nil : change.path  // deleted on the host meanwhile
                }
                let changed = Self.ctime(now)
                if change.kind == .added && !replaced.contains(change.path)
                    && !(change.type == .directory && now.st_mode & S_IFMT == S_IFDIR) { return change.path }
                if now.st_mode & S_IFMT == S_IFDIR || changed <= since { return nil }
                return applied.withLock { $0[change.path] } == changed ? nil : change.path
            }
            if !conflicts.isEmpty { throw .conflicts(Array(Set(conflicts)).sorted()) }
        }
        // Nothing is written unless every change can land: each parent in the host directory is a
        // directory or does not exist yet (a symlink there is never followed, so it blocks the apply).
        let deletions = Set(chosen.filter { $0.kind == .deleted }.map(\.path))
        let blocked = chosen.filter { change in
            var prefix = ""
            for part in WorkspaceFiles.split(change.path).parent.pathParts() {
                prefix += prefix.isEmpty ? String(part) : "/" + part
                guard let st = Self.lstat(hostFD, prefix) else { return false }
                if st.st_mode & S_IFMT != S_IFDIR {
                    // A deletion of the same path (a symlink the session replaced) clears the way.
                    // (A set: 50,000 changes under such a parent, each scanning 50,000 others, hold a thread for seconds.)
                    return !deletions.contains(prefix)
                }
            }
            return false
        }.map(\.path)
        if !blocked.isEmpty { throw .blocked(blocked) }
        // `copy` refuses these; refused here, before the deletions run, nothing is half applied.
        let special = chosen.filter { $0.kind != .deleted && $0.type == .other }.map(\.path)
        if !special.isEmpty { throw .special(special) }
        var hostOwner = stat()
        fstat(hostFD, &hostOwner)
        let upperFD = Glibc.open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard upperFD >= 0 else { throw .failed("the session's changes cannot be read") }
        defer { close(upperFD) }
        // Sizes as the files claim them (sparse ones included), checked before anything is written.
        var claimed = 0
        for change in chosen where change.kind != .deleted && change.type == .file {
            // Compared by what is left, never summed past it: a size near Int.max (a sparse host file
            // copied up; XFS allows 8 EiB) would trap `claimed +` and take the server down.
            let size = Int(Self.lstat(upperFD, change.path)?.st_size ?? 0)
            guard size <= maxBytes - claimed else {
                throw .tooLarge("the chosen files hold more than \(maxBytes >> 20) MiB (the session's disk_mb; sparse files count whole): "
                    + "apply fewer paths, or remove the large files in the session")
            }
            claimed += size
        }
        var budget = maxBytes
        // Deletions first (deepest first), then additions and edits (shallowest first).
        for change in chosen.filter({ $0.kind == .deleted }).sorted(by: { $0.path > $1.path }) {
            try Self.removeBeneath(hostFD, change.path)
        }
        for change in chosen.filter({ $0.kind != .deleted }).sorted(by: { $0.path < $1.path }) {
            try Self.copy(change, from: upperFD, to: hostFD, owner: hostOwner, budget: &budget)
            if let now = Self.lstat(hostFD, change.path) { applied.withLock { $0[change.path] = Self.ctime(now) } }
        }
        return chosen
    }

    private static func copy(_ change: Change, from upperFD: Int32, to hostFD: Int32, owner: stat, budget: inout Int) throws(Failure) {
        let (parent, name) = WorkspaceFiles.split(change.path)
        let dirFD = try openParent(hostFD, parent, owner: owner)
        defer { close(dirFD) }
        let source = parent.isEmpty ? name : parent + "/" + name
        // Beneath the upper layer, through no symlink: the session may have made a parent one since the
        // changes were listed, and a plain path relative to upperFD would follow it out, as root.
        guard let st = Self.lstat(upperFD, source) else { throw .failed("'\(change.path)' vanished from the session") }
        switch change.type {
        case .directory:
            if mkdirat(dirFD, name, mode_t(st.st_mode & 0o7777)) == 0 {
                fchownat(dirFD, name, owner.st_uid, owner.st_gid, AT_SYMLINK_NOFOLLOW)
            } else if errno != EEXIST { throw .failed("cannot create '\(change.path)': \(String(cString: strerror(errno)))") }
        case .symlink:
            let temp = ".corral-apply-\(UInt64.random(in: 0...UInt64.max))"
            guard let target = Self.readLinkBeneath(upperFD, source), symlinkat(target, dirFD, temp) == 0 else {
                throw .failed("cannot recreate the symlink '\(change.path)'")
            }
            fchownat(dirFD, temp, owner.st_uid, owner.st_gid, AT_SYMLINK_NOFOLLOW)
            guard renameat(dirFD, temp, dirFD, name) == 0 else { unlinkat(dirFD, temp, 0); throw .failed("cannot place '\(change.path)'") }
        case .file:
            let input = corral_open_beneath(upperFD, source, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0, 1)
            guard input >= 0 else { throw .failed("cannot read '\(change.path)' in the session") }
            defer { close(input) }
            var size = stat()
            guard fstat(input, &size) == 0, size.st_mode & S_IFMT == S_IFREG else { throw .conflicts([change.path]) }
            // At most the size it has now (it may grow while it is copied) and what is left of the apply's bytes.
            var left = Int(size.st_size)
            guard left <= budget else { throw .tooLarge("'\(change.path)' grew past what one apply writes (the session's disk_mb)") }
            budget -= left
            let temp = ".corral-apply-\(UInt64.random(in: 0...UInt64.max))"
            let output = openat(dirFD, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(st.st_mode & 0o777))
            guard output >= 0 else { throw .failed("cannot write '\(change.path)' in \(parent.isEmpty ? "the host directory" : parent): \(String(cString: strerror(errno)))") }
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            var ok = true
            while ok && left > 0 {
                let n = readFull(input, &buffer)
                if n <= 0 { ok = n == 0; break }
                let k = min(n, left)
                left -= k
                ok = buffer.withUnsafeBytes { Posix.writeAll(output, Array($0[0..<k])) }
            }
            fchown(output, owner.st_uid, owner.st_gid)
            fchmod(output, mode_t(st.st_mode & 0o777))
            ok = ok && fsync(output) == 0
            close(output)
            guard ok, renameat(dirFD, temp, dirFD, name) == 0 else {
                unlinkat(dirFD, temp, 0)
                throw .failed("cannot write '\(change.path)': \(String(cString: strerror(errno)))")
            }
        case .other:
            throw .failed("'\(change.path)' is neither a file, a directory nor a symlink; it cannot be applied")
        }
    }

    /// Opens (creating, owned like the host directory) the parent directory, never through a symlink.
    private static func openParent(_ hostFD: Int32, _ parent: String, owner: stat) throws(Failure) -> Int32 {
        var fd = dup(hostFD)
        for part in parent.pathParts() {
            if mkdirat(fd, part, 0o755) == 0 { fchownat(fd, part, owner.st_uid, owner.st_gid, AT_SYMLINK_NOFOLLOW) }
            let next = corral_open_beneath(fd, part, O_RDONLY | Int32(O_DIRECTORY), 0, 1)
            close(fd)
            guard next >= 0 else {
                throw .failed("'\(parent)' in the host directory is not a directory, or is a symlink (never followed): \(String(cString: strerror(-next)))")
            }
            fd = next
        }
        return fd
    }

    private static func removeBeneath(_ hostFD: Int32, _ path: String) throws(Failure) {
        let (parent, name) = WorkspaceFiles.split(path)
        let dirFD = parent.isEmpty ? dup(hostFD) : corral_open_beneath(hostFD, parent, O_RDONLY | Int32(O_DIRECTORY), 0, 1)
        guard dirFD >= 0 else { return }  // its parent is gone already
        defer { close(dirFD) }
        if unlinkat(dirFD, name, 0) == 0 || errno == ENOENT { return }
        guard errno == EISDIR else { throw .failed("cannot delete '\(path)': \(String(cString: strerror(errno)))") }
        do throws(WorkspaceFiles.Failure) { try WorkspaceFiles.removeTree(dirFD, Array(name.utf8CString), path: path, depth: path.split(separator: "/").count) } catch {
            throw .failed("cannot delete '\(path)': \(error)")
        }
    }

    // MARK: - Helpers

    /// Paths as a tree of their components, compared by bytes.
    struct PathTree {
        private var children: [[[UInt8]: Int]] = [[:]]
        private var ends: [Bool] = [false]

        mutating func insert(_ path: String) {
            var node = 0
            for part in Array(path.utf8).split(separator: UInt8(ascii: "/")) {
                if let next = children[node][Array(part)] { node = next; continue }
                children.append([:]); ends.append(false)
                children[node][Array(part)] = children.count - 1
                node = children.count - 1
            }
            ends[node] = true
        }

        /// Whether `path` or one of its parent directories was inserted.
        func covers(_ path: String) -> Bool {
            var node = 0
            for part in Array(path.utf8).split(separator: UInt8(ascii: "/")) {
                guard let next = children[node][Array(part)] else { return false }
                node = next
                if ends[node] { return true }
            }
            return false
        }

        /// Whether `path` is an inserted path or a parent directory of one.
        func holds(_ path: String) -> Bool {
            var node = 0
            for part in Array(path.utf8).split(separator: UInt8(ascii: "/")) {
                guard let next = children[node][Array(part)] else { return false }
                node = next
            }
            return node != 0
        }
    }

    static func names(_ dirFD: Int32) -> [String] {
        let fd = openat(dirFD, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0, let dir = fdopendir(fd) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let e = readdir(dir) {
            let name = Posix.name(of: e)
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func lstat(_ dirFD: Int32, _ path: String) -> stat? {
        let (parent, name) = WorkspaceFiles.split(path)
        let fd = parent.isEmpty ? dup(dirFD) : corral_open_beneath(dirFD, parent, O_RDONLY | Int32(O_DIRECTORY), 0, 1)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        return fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st : nil
    }

    static func ctime(_ st: stat) -> Double { Double(st.st_ctim.tv_sec) + Double(st.st_ctim.tv_nsec) / 1e9 }

    static func kind(_ mode: mode_t) -> WorkspaceFiles.Entry.Kind {
        switch mode & S_IFMT {
        case S_IFREG: .file
        case S_IFDIR: .directory
        case S_IFLNK: .symlink
        default: .other
        }
    }

    static func isOpaque(_ dirFD: Int32, _ name: String) -> Bool {
        let fd = openat(dirFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var value = [UInt8](repeating: 0, count: 4)
        let n = corral_fgetxattr(fd, "trusted.overlay.opaque", &value, UInt(value.count))
        return n >= 1 && value[0] == UInt8(ascii: "y")
    }

    static func readLink(_ dirFD: Int32, _ name: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4097)
        let n = readlinkat(dirFD, name, &buffer, 4096)
        return n >= 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
    }

    static func readLinkBeneath(_ dirFD: Int32, _ path: String) -> String? {
        let (parent, name) = WorkspaceFiles.split(path)
        let fd = parent.isEmpty ? dup(dirFD) : corral_open_beneath(dirFD, parent, O_RDONLY | Int32(O_DIRECTORY), 0, 1)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return readLink(fd, name)
    }

    static func readBeneath(_ dirFD: Int32, _ path: String, limit: Int) -> [UInt8]? {
        guard dirFD >= 0 else { return nil }
        let fd = corral_open_beneath(dirFD, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0, 1)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        var out: [UInt8] = [], buffer = [UInt8](repeating: 0, count: 65536)
        while out.count <= limit {
            let n = readFull(fd, &buffer)
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return Array(out.prefix(limit))
    }

    static func isRegular(_ fd: Int32) -> Bool {
        var st = stat()
        return fstat(fd, &st) == 0 && st.st_mode & S_IFMT == S_IFREG
    }

    static func readFull(_ fd: Int32, _ buffer: inout [UInt8]) -> Int {
        var total = 0
        while total < buffer.count {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + total, $0.count - total) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return -1 }
            if n == 0 { break }
            total += n
        }
        return total
    }
}
