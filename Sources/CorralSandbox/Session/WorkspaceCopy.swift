import CCorralSyscalls
import Glibc

/// Copies a workspace's tree (as `WorkspaceArchive` walks it: no symlink followed, regular files
/// and directories only) into a host directory the caller owns, for what must outlive the jail
/// (a task's files). The destination is fresh: names are created, never opened if they exist.
public enum WorkspaceCopy {
    public struct Report: Sendable, Equatable {
        public var files = 0
        public var bytes = 0
        /// Paths left out: symlinks, special files, names the destination already holds, past the limits.
        public var skipped: [String] = []
    }

    /// Copies `files`'s tree into `destination` (an existing directory), leaving out top-level names in
    /// `reserved` (the destination's own files); at most `maxEntries` entries and `maxBytes` bytes.
    public static func copy(_ files: WorkspaceFiles, to destination: String, reserved: Set<String> = [],
                            maxEntries: Int = 100_000, maxBytes: Int = 1 << 32) -> Report {
        var report = Report()
        let source = Glibc.open(files.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
        let target = Glibc.open(destination, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
        defer { if source >= 0 { close(source) }; if target >= 0 { close(target) } }
        guard source >= 0, target >= 0 else { report.skipped.append("."); return report }
        copyTree(source, target, prefix: "", reserved: reserved, report: &report, maxEntries: maxEntries, maxBytes: maxBytes)
        return report
    }

    private static func copyTree(_ from: Int32, _ to: Int32, prefix: String, reserved: Set<String>, report: inout Report,
                                 maxEntries: Int, maxBytes: Int) {
        for name in ShadowChanges.names(from) {
            let path = prefix.isEmpty ? name : prefix + "/" + name
            if prefix.isEmpty, reserved.contains(name) { report.skipped.append(path); continue }
            guard report.files < maxEntries else { report.skipped.append(path); continue }
            var st = stat()
            guard fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                guard mkdirat(to, name, 0o755) == 0 || errno == EEXIST else { report.skipped.append(path); continue }
                let child = corral_open_beneath(from, name, O_RDONLY | Int32(O_DIRECTORY), 0, 1)
                let made = openat(to, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                defer { if child >= 0 { close(child) }; if made >= 0 { close(made) } }
                guard child >= 0, made >= 0 else { report.skipped.append(path); continue }
                report.files += 1
                copyTree(child, made, prefix: path, reserved: [], report: &report, maxEntries: maxEntries, maxBytes: maxBytes)
            case S_IFREG:
                guard report.bytes + Int(st.st_size) <= maxBytes,
                      let data = ShadowChanges.readBeneath(from, name, limit: maxBytes - report.bytes) else { report.skipped.append(path); continue }
                let fd = openat(to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(st.st_mode & 0o755) | 0o600)
                guard fd >= 0 else { report.skipped.append(path); continue }
                let written = Posix.writeAll(fd, data)
                close(fd)
                guard written else { report.skipped.append(path); continue }
                report.files += 1
                report.bytes += data.count
            default:
                report.skipped.append(path)
            }
        }
    }
}
