import Glibc

/// A size-capped tmpfs on the host that one jail may write (bound at `/out`)
/// and the host reads back afterwards as hostile input with `HostileTree`.
/// A tmpfs, not a directory on the host's disk, so a jail cannot fill the disk.
public final class ScratchMount: Sendable {
    public let path: String

    public static let defaultParent = "/run/corral/scratch"

    /// Makes `parent` a shared mount. Jails are cloned ahead of time (the pool), before the scratch
    /// tmpfs they will use exists; mounts under a shared parent propagate into their mount namespaces
    /// until their init makes `/` private, which it does only after the scratch was mounted.
    static func prepareParent(_ parent: String = defaultParent) throws(SandboxError) {
        try Posix.makeDirectories(parent, mode: 0o755)
        let mounted = (Posix.readFile("/proc/self/mountinfo") ?? "").split(separator: "\n")
            .contains { $0.split(separator: " ").dropFirst(4).first.map(String.init) == parent }
        if !mounted, mount(parent, parent, nil, UInt(MS_BIND), nil) != 0 {
            throw .system(call: "mount", errno: errno, context: "bind \(parent) on itself")
        }
        if mount(nil, parent, nil, UInt(MS_SHARED), nil) != 0 {
            throw .system(call: "mount", errno: errno, context: "make \(parent) shared")
        }
    }

    /// Mounts a tmpfs of `sizeMB` at a new directory under `parent`, writable only by `ownerHostID`.
    /// By default that is root: `Sandbox.run` hands the directory to the program uid of the jail it
    /// is bound into, which is known only once that jail is taken from the pool.
    public init(parent: String = ScratchMount.defaultParent, sizeMB: Int, ownerHostID: UInt32 = 0) throws(SandboxError) {
        try Posix.makeDirectories(parent, mode: 0o755)
        var template = Array((parent + "/out-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw .system(call: "mkdtemp", errno: errno, context: parent) }
        path = String(cString: template)
        let options = "size=\(sizeMB)m,nr_inodes=20000,mode=0700,uid=\(ownerHostID),gid=\(ownerHostID)"
        guard mount("tmpfs", path, "tmpfs", UInt(MS_NOSUID | MS_NODEV), options) == 0 else {
            let e = errno
            rmdir(path)
            throw .system(call: "mount", errno: e, context: "tmpfs at \(path)")
        }
    }

    deinit {
        umount2(path, Int32(MNT_DETACH))
        rmdir(path)
    }
}
