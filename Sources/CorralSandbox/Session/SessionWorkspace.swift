import CCorralSyscalls
import Glibc

/// The host side of a session's `/workspace`: a directory under `/run/corral/sessions/<server pid>/<id>`
/// holding the mounts the session's jail binds at `/workspace`. Host-side because the files API,
/// the shadow diff and apply read it from outside the jail, and because the jail's own tmpfs would die
/// with the jail (a fork copies it).
///
/// - `scratch`: a size-capped tmpfs owned by the session's program uid.
/// - `shadow`: overlayfs with the host directory as its read-only lower layer (through an idmapped
///   mount, so the directory owner's files appear as the program's own) and a size-capped tmpfs
///   holding the upper layer: writes never reach the host directory, nothing is copied at creation,
///   and the upper layer is exactly the session's changes.
/// - `readOnly`: the host directory, idmapped the same way, read-only.
public final class SessionWorkspace: Sendable {
    public enum Kind: Sendable, Equatable {
        case scratch
        case shadow(hostPath: String)
        case readOnly(hostPath: String)
    }

    public let kind: Kind
    /// The session's directory on the host; `mountPoint` is bound at `/workspace` in the jail.
    public let directory: String
    public let mountPoint: String
    /// For `shadow`: the overlay's upper layer (the changes) and the host directory as it is on disk.
    public let upperDirectory: String?
    public let hostPath: String?
    /// For `shadow`: the read-only bind of the host directory (the overlay's lower layer), which holds the
    /// directory itself whatever later becomes of its path.
    public var lowerDirectory: String? { upperDirectory == nil ? nil : directory + "/lower" }
    /// Host uid and gid the jail's program runs as: owner of everything the session creates.
    public let ownerHostID: UInt32
    /// Wall-clock time the session began (seconds since 1970): a host file changed after it is a conflict.
    public let createdAt: Double

    /// Where every server keeps its sessions' directories, one folder per server process.
    public static let root = "/run/corral/sessions"
    static let maxInodes = 1_000_000

    /// Mounts the workspace of a new session. `sizeMB` caps what the session may write.
    init(kind: Kind, id: String, sizeMB: Int, owner: UInt32, serverRoot: String) throws(SandboxError) {
        self.kind = kind
        ownerHostID = owner
        createdAt = Self.now()
        directory = serverRoot + "/" + id
        mountPoint = directory + "/workspace"
        switch kind {
        case .scratch: hostPath = nil; upperDirectory = nil
        case .shadow(let path): hostPath = path; upperDirectory = directory + "/layers/upper"
        case .readOnly(let path): hostPath = path; upperDirectory = nil
        }
        // World-searchable: the jail's init (an unprivileged host uid) looks the mount point up to bind it.
        try Posix.makeDirectories(serverRoot, mode: 0o711)
        chmod(serverRoot, 0o711)
        guard Glibc.mkdir(directory, 0o711) == 0 else { throw .system(call: "mkdir", errno: errno, context: directory) }
        do throws(SandboxError) {
            try mountLayers(sizeMB: sizeMB)
        } catch {
            Self.unmountAll(under: directory)
            Self.removeTree(directory)
            throw error
        }
    }

    private func mountLayers(sizeMB: Int) throws(SandboxError) {
        try Self.mkdir(mountPoint, 0o755)
        let nosuidNodev = UInt(MS_NOSUID | MS_NODEV)
        let idOptions = "uid=\(ownerHostID),gid=\(ownerHostID)"
        switch kind {
        case .scratch:
            try Self.mount("tmpfs", mountPoint, "tmpfs", nosuidNodev, "size=\(sizeMB)m,nr_inodes=\(Self.maxInodes),mode=0755,\(idOptions)")
        case .readOnly(let host):
            try idmappedBind(host, at: mountPoint, readOnly: true)
        case .shadow(let host):
            let layers = directory + "/layers", lower = directory + "/lower"
            try Self.mkdir(layers, 0o700)
            try Self.mkdir(lower, 0o700)
            try Self.mount("tmpfs", layers, "tmpfs", nosuidNodev, "size=\(sizeMB)m,nr_inodes=\(Self.maxInodes),mode=0700")
            try Self.mkdir(layers + "/upper", 0o755)
            try Self.mkdir(layers + "/work", 0o700)
            chown(layers + "/upper", ownerHostID, ownerHostID)
            try idmappedBind(host, at: lower, readOnly: true)
            // No metacopy or redirect_dir: an edited file is whole in the upper layer and a renamed
            // directory is a copy, so the upper layer alone says what changed.
            try Self.mount("overlay", mountPoint, "overlay", nosuidNodev,
                           "lowerdir=\(lower),upperdir=\(layers)/upper,workdir=\(layers)/work,redirect_dir=off,metacopy=off,index=off,xino=off")
        }
    }

    /// Binds `host` so that files of the directory's owner appear as the program's (uid and gid).
    private func idmappedBind(_ host: String, at target: String, readOnly: Bool) throws(SandboxError) {
        var st = stat()
        guard stat(host, &st) == 0 else { throw .system(call: "stat", errno: errno, context: host) }
        let userns = corral_userns_fd("\(st.st_uid) \(ownerHostID) 1\n", "\(st.st_gid) \(ownerHostID) 1\n")
        guard userns >= 0 else { throw .system(call: "unshare", errno: -userns, context: "a user namespace to map \(host)'s owner") }
        defer { close(userns) }
        let r = corral_idmapped_bind(host, target, userns, readOnly ? 1 : 0)
        guard r == 0 else { throw .system(call: "mount_setattr", errno: -r, context: "an idmapped mount of \(host)") }
        // `host` was resolved and checked against the allowed roots before this call, by path: a component
        // replaced by a symlink since (another session's apply makes them) would have been bound instead.
        // What is mounted must still be what the path names, symlink-free. (The caller unmounts on failure.)
        // One walk from "/" that follows no symlink (openat2 RESOLVE_NO_SYMLINKS): realpath then lstat were two
        // walks, and a component swapped back and forth between them passed both.
        let root = Glibc.open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { if root >= 0 { close(root) } }
        let relative = host == "/" ? "." : String(host.drop(while: { $0 == "/" }))
        let named = root < 0 ? -1 : corral_open_beneath(root, relative, O_RDONLY | Int32(O_DIRECTORY), 0, 1)
        defer { if named >= 0 { close(named) } }
        var opened = stat(), mounted = stat()
        guard named >= 0, fstat(named, &opened) == 0, stat(target, &mounted) == 0,
              opened.st_dev == mounted.st_dev, opened.st_ino == mounted.st_ino else {
            throw .system(call: "open_tree", errno: ESTALE, context: "\(host) changed while it was being mounted")
        }
    }

    /// Unmounts and removes everything of this workspace. Idempotent.
    public func remove() {
        Self.unmountAll(under: directory)
        Self.removeTree(directory)
    }

    /// Removes what servers no longer running left in `root` (a server killed with SIGKILL).
    static func removeStale(root: String = SessionWorkspace.root) {
        guard let dir = opendir(root) else { return }
        var stale: [String] = []
        while let entry = readdir(dir) {
            let name = Posix.name(of: entry)
            guard let pid = Int32(name) else { continue }
            if Glibc.kill(pid, 0) != 0 && errno == ESRCH { stale.append(root + "/" + name) }
        }
        closedir(dir)
        for path in stale {
            unmountAll(under: path)
            removeTree(path)
        }
    }

    /// Mount points at or under `path`, deepest first, detached.
    static func unmountAll(under path: String) {
        let mounts = (Posix.readFile("/proc/self/mountinfo") ?? "").split(separator: "\n").compactMap { line -> String? in
            guard let point = line.split(separator: " ").dropFirst(4).first else { return nil }
            let decoded = Self.unescapeMountPath(String(point))
            return decoded == path || decoded.hasPrefix(path + "/") ? decoded : nil
        }
        for point in mounts.sorted(by: { $0.count > $1.count }) { umount2(point, Int32(MNT_DETACH)) }
    }

    /// mountinfo writes space, tab, newline and backslash as octal escapes.
    static func unescapeMountPath(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out: [UInt8] = [], bytes = Array(s.utf8), i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\\"), i + 3 < bytes.count,
               let v = UInt8(String(decoding: bytes[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                out.append(v); i += 4
            } else { out.append(bytes[i]); i += 1 }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Removes a directory tree without following symlinks (only what unmounting left: empty dirs).
    static func removeTree(_ path: String) {
        let (parent, name) = WorkspaceFiles.split(path)
        let fd = Glibc.open(parent.isEmpty ? "/" : parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        if unlinkat(fd, name, AT_REMOVEDIR) == 0 || errno == ENOENT { return }
        // Best effort: a directory that cannot go now goes at the next start-up (removeStale).
        try? WorkspaceFiles.removeTree(fd, Array(name.utf8CString), path: path, depth: 1)
    }

    /// Wall-clock seconds since 1970.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    private static func mkdir(_ path: String, _ mode: mode_t) throws(SandboxError) {
        guard Glibc.mkdir(path, mode) == 0 else { throw .system(call: "mkdir", errno: errno, context: path) }
        chmod(path, mode)
    }

    private static func mount(_ source: String, _ target: String, _ type: String, _ flags: UInt, _ options: String) throws(SandboxError) {
        guard Glibc.mount(source, target, type, flags, options) == 0 else {
            throw .system(call: "mount", errno: errno, context: "\(type) at \(target)")
        }
    }
}
