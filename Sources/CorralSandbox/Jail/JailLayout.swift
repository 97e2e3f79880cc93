import Glibc

/// Turns a `JailSpec` into the operations the jail's init performs: the root
/// filesystem (SECURITY.md measures 3–4), the workspace, credentials, rlimits
/// and the seccomp program. Pure: it reads the host only to mirror `/bin`-style
/// symlinks and to skip paths that do not exist.
struct JailLayout {
    /// Where the init builds the new root before `pivot_root` (a host directory, world-searchable).
    var stagingRoot: String
    /// Inside uid/gid of the program.
    var programID: UInt32 = 1000
    var seccompProgram: [UInt8]?
    var hostname = "corral"
    /// Without cgroups, memory and processes fall back to RLIMIT_AS and RLIMIT_NPROC.
    var rlimitFallback = false

    /// Host paths every program sees, read-only.
    static let baseSystemPaths = ["/usr", "/bin", "/lib", "/lib64", "/lib32", "/libx32", "/sbin"]
    /// Host files of /etc that programs commonly need and that disclose nothing of the host.
    /// (`services` and `protocols`: `getservbyname` and `getaddrinfo(host, "http")` read them even offline.)
    static let baseEtcPaths = ["/etc/ld.so.cache", "/etc/alternatives", "/etc/localtime", "/etc/protocols", "/etc/services"]
    static let networkEtcPaths = ["/etc/ssl", "/etc/ca-certificates"]
    /// Pseudo-terminals one jail may hold at once. Every devpts instance but the host's draws on the
    /// machine-wide `kernel.pty.max` minus `kernel.pty.reserve` (3072 by default): without a cap per
    /// instance one jail could leave every other jail without a terminal.
    static let maxPseudoTerminals = 16
    static let devices = ["null", "zero", "full", "random", "urandom", "tty"]
    /// The jail's own devpts instance (a fork-server's forks each mount one too).
    static let devptsOptions = "newinstance,ptmxmode=0666,mode=0600,max=\(maxPseudoTerminals)"

    /// The init's operations for `spec`. `warm`: start the program, then wait for a hand-off
    /// (`encodeHandoff`) before the run it serves; the spec is then the template of a warm pool.
    /// `zygote`: the program is a fork-server's template (`ForkServer`): it stays the namespace's
    /// root with its capabilities and no filter, and applies the program's credentials, rlimits and
    /// seccomp program in each fork itself, before the run's code.
    func encode(_ spec: JailSpec, warm: Bool = false, zygote: Bool = false) throws(SandboxError) -> SpecEncoder {
        try Self.validate(spec)
        var e = SpecEncoder()
        let root = stagingRoot
        let nosuidNodev = UInt(MS_NOSUID | MS_NODEV)

        e.mount("", "/", "", UInt(MS_REC | MS_PRIVATE))
        e.mount("tmpfs", root, "tmpfs", nosuidNodev, "size=4m,mode=0755,nr_inodes=4096")

        // System paths: symlinks mirrored (merged /usr), directories bound read-only.
        var seen = Set<String>()
        for path in Self.baseSystemPaths + spec.readOnlyPaths + Self.baseEtcPaths + (spec.network ? Self.networkEtcPaths : []) {
            guard seen.insert(path).inserted, Posix.exists(path) || Posix.isSymlink(path) else { continue }
            bindReadOnly(path, into: root, encoder: &e)
        }

        // /etc: synthesized, never the host's users, groups or hostnames.
        e.mkdir(root + "/etc")
        let etc: [(String, String)] = [
            ("passwd", "root:x:0:0:root:/root:/bin/false\ncorral:x:\(programID):\(programID):corral:\(JailSpec.workspacePath):/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"),
            ("group", "root:x:0:\ncorral:x:\(programID):\nnogroup:x:65534:\n"),
            ("hosts", "127.0.0.1\tlocalhost \(hostname)\n::1\tlocalhost ip6-localhost\n"),
            ("hostname", hostname + "\n"),
            ("nsswitch.conf", "passwd: files\ngroup: files\nhosts: files dns\n"),
            ("resolv.conf", spec.network ? "nameserver 10.0.2.3\n" : ""),
        ]
        for (name, text) in etc where !seen.contains("/etc/" + name) {
            e.writeFile(root + "/etc/" + name, Array(text.utf8), mode: 0o644, uid: 0, gid: 0)
        }

        // /proc: fresh, for this PID namespace only; the knobs that reach the kernel read-only.
        e.mkdir(root + "/proc")
        e.mount("proc", root + "/proc", "proc", UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC))
        // Kernel accounts no cgroup charges, capped while the init may still write its own namespaces' knobs.
        for cap in KernelAccounts.presentUserNamespaceCaps {
            // A zygote's forks each make a user namespace of their own (as distinct ids: one each).
            let value = zygote && cap.name == "max_user_namespaces" ? KernelAccounts.zygoteUserNamespaces : cap.value
            e.sysctl(root + "/proc/sys/user/" + cap.name, String(value))
        }
        e.sysctl(root + "/proc/sys/net/ipv4/tcp_rmem", KernelAccounts.tcpReceiveBuffer)
        e.sysctl(root + "/proc/sys/net/ipv4/tcp_wmem", KernelAccounts.tcpSendBuffer)
        for hidden in ["sys", "sysrq-trigger", "irq", "bus"] where Posix.exists("/proc/" + hidden) {
            let path = root + "/proc/" + hidden
            e.mount(path, path, "", UInt(MS_BIND | MS_REC))
            e.bindRemount(path, UInt(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC))
        }

        // /dev: a tmpfs with only the harmless nodes, bound from the host.
        e.mkdir(root + "/dev")
        e.mount("tmpfs", root + "/dev", "tmpfs", UInt(MS_NOSUID | MS_NOEXEC), "size=64k,mode=0755,nr_inodes=64")
        for node in Self.devices {
            e.touch(root + "/dev/" + node)
            e.mount("/dev/" + node, root + "/dev/" + node, "", UInt(MS_BIND))
            e.bindRemount(root + "/dev/" + node, UInt(MS_NOSUID | MS_NOEXEC))
        }
        for (name, target) in [("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")] {
            e.symlink(target, at: root + "/dev/" + name)
        }
        // A private devpts (SECURITY.md measure 4): `openpty`, `pty`, `script` and REPLs need one; it
        // shows none of the host's terminals, and TIOCSTI/TIOCLINUX stay refused by the filter.
        e.mkdir(root + "/dev/pts")
        e.mount("devpts", root + "/dev/pts", "devpts", UInt(MS_NOSUID | MS_NOEXEC), Self.devptsOptions)
        e.symlink("pts/ptmx", at: root + "/dev/ptmx")
        e.mkdir(root + "/dev/shm")
        e.mount("tmpfs", root + "/dev/shm", "tmpfs", UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC), "size=\(spec.limits.tmpMB)m,mode=1777")

        // /tmp and the workspace: size-capped tmpfs; their pages count against the memory cgroup.
        e.mkdir(root + "/tmp")
        e.mount("tmpfs", root + "/tmp", "tmpfs", nosuidNodev, "size=\(spec.limits.tmpMB)m,mode=1777")
        let ws = root + JailSpec.workspacePath
        e.mkdir(ws)
        if let host = spec.workspaceDirectory {
            e.mount(host, ws, "", UInt(MS_BIND | MS_REC))
            e.bindRemount(ws, spec.writableWorkspace ? nosuidNodev : UInt(MS_RDONLY) | nosuidNodev)
        } else {
            e.mount("tmpfs", ws, "tmpfs", nosuidNodev,
                    "size=\(spec.limits.workspaceMB)m,mode=0755,uid=\(programID),gid=\(programID)")
        }
        if let out = spec.outputDirectory {
            e.mkdir(root + "/out")
            e.mount(out, root + "/out", "", UInt(MS_BIND))
            e.bindRemount(root + "/out", spec.outputReadOnly ? UInt(MS_RDONLY) | nosuidNodev : nosuidNodev)
        }

        e.pivot(root)
        if spec.workspaceDirectory == nil { workspaceFiles(spec.files, writable: spec.writableWorkspace, encoder: &e) }
        e.remount("/", UInt(MS_RDONLY | MS_NOSUID | MS_NODEV))
        e.hostname(hostname)
        e.loopbackUp()
        e.chdir(spec.workingDirectory)

        // A warm jail's program takes its run's rlimits at the hand-off, where only lowering a hard
        // limit is allowed (raising one needs CAP_SYS_RESOURCE in the host's namespace): it waits
        // with the highest any run may ask for.
        programRlimits(warm || zygote ? .maximum : spec.limits, encoder: &e)
        if zygote {
            e.keepCapabilities()
        } else {
            e.credentials(uid: programID, gid: programID)
            if let bpf = seccompProgram { e.seccomp(bpf) }
        }
        for (key, value) in spec.environment { e.env(key, value) }
        for a in spec.arguments { e.arg(a) }
        if warm { e.warm() }
        e.exec(spec.arguments[0])
        return e
    }

    /// The run's files in the workspace (after `pivot_root`), then the workspace made read-only if asked.
    /// The directories the files need are the program's, as the files and the workspace are.
    private func workspaceFiles(_ files: [JailFile], writable: Bool, encoder e: inout SpecEncoder) {
        // Paths are compared and split as bytes, as the kernel does (never as `Character`s).
        var made: Set<[UInt8]> = []
        for file in files {
            var directory = JailSpec.workspacePath
            var new: [String] = []
            for component in file.path.pathParts().dropLast() {
                directory += "/" + component
                if made.insert(Array(directory.utf8)).inserted { new.append(directory) }
            }
            // One `mkdir -p` of the deepest new directory, then each new one becomes the program's.
            if let deepest = new.last { e.mkdir(deepest) }
            for directory in new { e.chown(directory, uid: programID, gid: programID) }
            e.writeFile(JailSpec.workspacePath + "/" + file.path, file.contents, mode: file.executable ? 0o755 : 0o644,
                        uid: programID, gid: programID)
        }
        if !writable {
            e.remount(JailSpec.workspacePath, UInt(MS_RDONLY | MS_NOSUID | MS_NODEV))
        }
    }

    /// The program's rlimits: set before its execve (cold), or applied to it running (a warm hand-off).
    private func programRlimits(_ limits: ResourceLimits, encoder e: inout SpecEncoder) {
        for limit in rlimits(limits) { e.rlimit(limit.resource, limit.soft, limit.hard) }
    }

    /// The rlimits of a program with `limits` (the same on every path: cold, warm, forked).
    func rlimits(_ limits: ResourceLimits) -> [(resource: Int32, soft: UInt64, hard: UInt64)] {
        let cpu = UInt64(limits.effectiveCPUSeconds.rounded(.up))
        // With cgroups the supervisor enforces CPU time over the whole jail, exactly; the per-process rlimit
        // (tick-granular, it fires early under load) is only a backstop one second later.
        let cpuSoft = rlimitFallback ? cpu : cpu + 1
        let fsize = UInt64(limits.fileSizeMB) << 20
        var list: [(resource: Int32, soft: UInt64, hard: UInt64)] = [
            (Rlimit.cpu, cpuSoft, cpuSoft + 1),
            (Rlimit.fsize, fsize, fsize),
            (Rlimit.nofile, UInt64(limits.openFiles), UInt64(limits.openFiles)),
            (Rlimit.core, 0, 0),
            (Rlimit.memlock, 0, 0),
            (Rlimit.stack, 8 << 20, 8 << 20),
            (Rlimit.messageQueue, KernelAccounts.messageQueueBytes, KernelAccounts.messageQueueBytes),
            (Rlimit.pendingSignals, KernelAccounts.pendingSignals, KernelAccounts.pendingSignals),
        ]
        if rlimitFallback {
            let memory = UInt64(limits.memoryMB) << 20
            list.append((Rlimit.addressSpace, memory, memory))
            list.append((Rlimit.nproc, UInt64(limits.processes), UInt64(limits.processes)))
        }
        return list
    }

    /// A warm jail's hand-off: what makes a jail started from a template into the jail of `run`. The
    /// size-capped filesystems take the run's sizes (tmpfs resizes in place), the workspace gets the
    /// run's files (and turns read-only if asked), and the running program takes the run's rlimits.
    func encodeHandoff(_ run: WarmRun) throws(SandboxError) -> SpecEncoder {
        try Self.validate(JailSpec(arguments: ["warm"], files: run.files))
        var e = SpecEncoder()
        let nosuidNodev = UInt(MS_NOSUID | MS_NODEV)
        e.mount("", "/tmp", "", UInt(MS_REMOUNT) | nosuidNodev, "size=\(run.limits.tmpMB)m")
        e.mount("", "/dev/shm", "", UInt(MS_REMOUNT | MS_NOEXEC) | nosuidNodev, "size=\(run.limits.tmpMB)m")
        e.mount("", JailSpec.workspacePath, "", UInt(MS_REMOUNT) | nosuidNodev, "size=\(run.limits.workspaceMB)m")
        workspaceFiles(run.files, writable: run.writableWorkspace, encoder: &e)
        programRlimits(run.limits, encoder: &e)
        return e
    }

    /// Mirrors a host path into the new root: symlinks as symlinks, the rest bound read-only.
    private func bindReadOnly(_ path: String, into root: String, encoder e: inout SpecEncoder) {
        let target = root + path
        if Posix.isSymlink(path), let link = Posix.readLink(path), !path.hasPrefix("/etc/") {
            e.mkdir(String(target[..<target.lastIndex(of: "/")!]))
            e.symlink(link, at: target)
            return
        }
        if Posix.isDirectory(path) { e.mkdir(target) } else {
            e.mkdir(String(target[..<target.lastIndex(of: "/")!]))
            e.touch(target)
        }
        e.mount(path, target, "", UInt(MS_BIND | MS_REC))
        e.bindRemount(target, UInt(MS_RDONLY | MS_NOSUID | MS_NODEV))
    }

    /// Rejects what the C side cannot carry or what would escape the workspace.
    static func validate(_ spec: JailSpec) throws(SandboxError) {
        guard let first = spec.arguments.first, !first.isEmpty else { throw .invalidRequest("the command to run is empty") }
        func noNUL(_ s: String, _ what: String) throws(SandboxError) {
            if s.utf8.contains(0) { throw .invalidRequest("\(what) contains a NUL byte, which cannot be passed to a program") }
        }
        for a in spec.arguments { try noNUL(a, "an argument") }
        for (k, v) in spec.environment {
            try noNUL(k + v, "environment variable \(k)")
            if k.isEmpty || k.contains("=") { throw .invalidRequest("environment variable name '\(k)' is empty or contains '='") }
        }
        for file in spec.files {
            try noNUL(file.path, "file name")
            let parts = file.path.pathParts(omittingEmpty: false)
            if file.path.isEmpty || file.path.hasPathPrefix("/") || parts.contains(where: { $0.isEmpty || $0.isBytewise("..") || $0.isBytewise(".") }) {
                throw .invalidRequest("file name '\(file.path)' must be relative to the workspace, without '..', '.' or empty parts")
            }
        }
        if spec.workspaceDirectory != nil, !spec.files.isEmpty {
            throw .invalidRequest("a jail bound to a host workspace takes no files in its spec: write them into the workspace")
        }
        if let host = spec.workspaceDirectory, !host.hasPathPrefix("/") || host.pathParts().contains(where: { $0.isBytewise("..") }) {
            throw .invalidRequest("workspace directory '\(host)' must be absolute and without '..'")
        }
        for path in spec.readOnlyPaths where !path.hasPathPrefix("/") || path.pathParts().contains(where: { $0.isBytewise("..") }) {
            throw .invalidRequest("read-only path '\(path)' must be absolute and without '..'")
        }
        for path in spec.readOnlyPaths where path == "/root" || path.hasPrefix("/root/") || path == "/" || path.hasPrefix("/proc") || path.hasPrefix("/sys") {
            throw .invalidRequest("read-only path '\(path)' may not be exposed to a sandbox")
        }
    }
}

/// Linux rlimit resource numbers (asm-generic/resource.h; Glibc hides some behind macros).
enum Rlimit {
    static let cpu: Int32 = 0, fsize: Int32 = 1, stack: Int32 = 3, core: Int32 = 4
    static let nproc: Int32 = 6, nofile: Int32 = 7, memlock: Int32 = 8, addressSpace: Int32 = 9
    static let pendingSignals: Int32 = 11, messageQueue: Int32 = 12
}
