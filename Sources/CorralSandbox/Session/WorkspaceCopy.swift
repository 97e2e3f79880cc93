import CCorralSyscalls
import Glibc

/// Copies a workspace's tree (as `WorkspaceArchive` walks it: no symlink followed; regular files,
/// directories and, when asked, symlinks as symlinks) into a directory: a host directory the caller
/// owns, for what must outlive the jail (a task's files), or another session's workspace (a fork,
/// whose entries then belong to its program uid). Names are created, never opened if they exist.
public enum WorkspaceCopy {
    public struct Report: Sendable, Equatable {
        public var files = 0
        public var bytes = 0
        /// Paths left out: symlinks, special files, names the destination already holds, past the limits
        /// (directories deeper than `WorkspaceFiles.maxDepth` are left out whole).
        public var skipped: [String] = []
    }

    /// Copies `files`'s tree into `destination` (an existing directory), leaving out top-level names in
    /// `reserved` (the destination's own files); at most `maxEntries` entries and `maxBytes` bytes.
    /// `owner`: the uid and gid of what is created (nil: the caller's); `symlinks`: copy symlinks as
    /// symlinks (into another jail's workspace only: the host never follows them there).
    public static func copy(_ files: WorkspaceFiles, to destination: String, reserved: Set<String> = [],
                            maxEntries: Int = 100_000, maxBytes: Int = 1 << 32, owner: UInt32? = nil, symlinks: Bool = false) -> Report {
        let options = Options(maxEntries: maxEntries, maxBytes: maxBytes, owner: owner, symlinks: symlinks)
        var report = Report()
        let source = Glibc.open(files.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
        let target = Glibc.open(destination, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
        defer { if source >= 0 { close(source) }; if target >= 0 { close(target) } }
        guard source >= 0, target >= 0 else { report.skipped.append("."); return report }
        copyTree(source, target, prefix: "", depth: 1, reserved: reserved, report: &report, options)
        return report
    }

    struct Options {
        var maxEntries: Int
        var maxBytes: Int
        var owner: UInt32?
        var symlinks: Bool
    }

    private static func copyTree(_ from: Int32, _ to: Int32, prefix: String, depth: Int, reserved: Set<String>, report: inout Report, _ options: Options) {
        let maxEntries = options.maxEntries, maxBytes = options.maxBytes
        for name in ShadowChanges.names(from) {
            let path = prefix.isEmpty ? name : prefix + "/" + name
            if prefix.isEmpty, reserved.contains(name) { report.skipped.append(path); continue }
            guard report.files < maxEntries else { report.skipped.append(path); continue }
            var st = stat()
            guard fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                guard depth < WorkspaceFiles.maxDepth else { report.skipped.append(path); continue }
                guard mkdirat(to, name, 0o755) == 0 || errno == EEXIST else { report.skipped.append(path); continue }
                let child = corral_open_beneath(from, name, O_RDONLY | Int32(O_DIRECTORY), 0, 1)
                let made = openat(to, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                defer { if child >= 0 { close(child) }; if made >= 0 { close(made) } }
                guard child >= 0, made >= 0 else { report.skipped.append(path); continue }
                if let owner = options.owner { fchown(made, owner, owner) }
                fchmod(made, mode_t(st.st_mode & 0o7777))
                report.files += 1
                copyTree(child, made, prefix: path, depth: depth + 1, reserved: [], report: &report, options)
            case S_IFREG:
                guard report.bytes + Int(st.st_size) <= maxBytes,
                      let data = ShadowChanges.readBeneath(from, name, limit: maxBytes - report.bytes) else { report.skipped.append(path); continue }
                let fd = openat(to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(st.st_mode & 0o755) | 0o600)
                guard fd >= 0 else { report.skipped.append(path); continue }
                let written = Posix.writeAll(fd, data)
                if let owner = options.owner { fchown(fd, owner, owner) }
                close(fd)
                guard written else { report.skipped.append(path); continue }
                report.files += 1
                report.bytes += data.count
            case S_IFLNK where options.symlinks:
                var buffer = [CChar](repeating: 0, count: 4097)
                let n = readlinkat(from, name, &buffer, 4096)
                guard n >= 0, symlinkat(buffer, to, name) == 0 else { report.skipped.append(path); continue }
                if let owner = options.owner { fchownat(to, name, owner, owner, AT_SYMLINK_NOFOLLOW) }
                report.files += 1
            default:
                report.skipped.append(path)
            }
        }
    }
}
