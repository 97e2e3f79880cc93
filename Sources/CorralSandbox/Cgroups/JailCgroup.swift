import Glibc

/// The cgroup of one jail: created before the jail starts, limits written when
/// the run begins, read and removed at its end.
struct JailCgroup: Sendable {
    let hierarchy: CgroupHierarchy
    let name: String

    /// Directories of this group, one per v1 controller or the single v2 one.
    var directories: [String: String] {
        switch hierarchy {
        case .v2(let root): ["unified": root + "/" + name]
        case .v1(let roots): roots.mapValues { $0 + "/" + name }
        case .unavailable: [:]
        }
    }

    static func create(in hierarchy: CgroupHierarchy, name: String) throws(SandboxError) -> JailCgroup {
        let group = JailCgroup(hierarchy: hierarchy, name: name)
        for dir in group.directories.values.sorted() where mkdir(dir, 0o755) != 0 && errno != EEXIST {
            let e = errno
            group.remove()
            throw .system(call: "mkdir", errno: e, context: dir)
        }
        return group
    }

    /// An open directory descriptor for `CLONE_INTO_CGROUP` (v2 only).
    func openForClone() -> Int32 {
        guard case .v2 = hierarchy, let dir = directories["unified"] else { return -1 }
        return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    }

    /// Moves a process in (v1: each controller). Costly when idle on v1; see DESIGN.md.
    func place(pid: pid_t) throws(SandboxError) {
        if case .v2 = hierarchy { return } // cloned into it already
        for dir in directories.values.sorted() {
            try Posix.writeFile(dir + "/cgroup.procs", String(pid))
        }
    }

    /// Whether the host has swap (`SwapTotal` in /proc/meminfo above 0); unreadable counts as yes.
    static let hostHasSwap = swaps(meminfo: Posix.readFile("/proc/meminfo"))

    static func swaps(meminfo: String?) -> Bool {
        guard let line = meminfo?.split(separator: "\n").first(where: { $0.hasPrefix("SwapTotal:") }) else { return true }
        return line.split(separator: " ").dropFirst().first.map { $0 != "0" } ?? true
    }

    /// Writes `limits` into the group. `previous`: the limits the group holds already (a warm jail's
    /// template); only what differs is written, in an order the kernel accepts when raising (v1
    /// refuses a memory limit above the memory+swap one).
    func apply(_ limits: ResourceLimits, replacing previous: ResourceLimits? = nil) throws(SandboxError) {
        let memory = String(limits.memoryMB << 20)
        let memoryChanged = previous?.memoryMB != limits.memoryMB
        let processesChanged = previous?.processes != limits.processes
        let cpuChanged = previous.map(Self.cpuQuotaMicroseconds) != Self.cpuQuotaMicroseconds(limits)
        switch hierarchy {
        case .v2:
            let dir = directories["unified"]!
            if memoryChanged {
                try Posix.writeFile(dir + "/memory.max", memory)
                if previous == nil {
                    // No swap for a jail: its memory limit is its memory. Without the file (no swap
                    // accounting) that holds only on a host without swap; elsewhere the jail refuses.
                    if Posix.exists(dir + "/memory.swap.max") {
                        try Posix.writeFile(dir + "/memory.swap.max", "0")
                    } else if Self.hostHasSwap {
                        throw .system(call: "open", errno: ENOENT, context: dir + "/memory.swap.max: this host swaps but cannot limit a "
                            + "cgroup's swap, so a jail could exceed its memory limit in swap; enable swap accounting or turn swap off (corral doctor)")
                    }
                }
            }
            if processesChanged { try Posix.writeFile(dir + "/pids.max", String(limits.processes)) }
            if cpuChanged, Posix.exists(dir + "/cpu.max") {
                try Posix.writeFile(dir + "/cpu.max", "\(Self.cpuQuotaMicroseconds(limits)) \(Self.cpuPeriodMicroseconds)")
            }
        case .v1(let roots):
            let mem = roots["memory"]! + "/" + name
            if memoryChanged {
                let memsw = mem + "/memory.memsw.limit_in_bytes"
                let hasMemsw = Posix.exists(memsw)
                let raising = previous.map { $0.memoryMB < limits.memoryMB } ?? false
                if hasMemsw, raising { try Posix.writeFile(memsw, memory) }
                try Posix.writeFile(mem + "/memory.limit_in_bytes", memory)
                if hasMemsw, !raising {
                    try Posix.writeFile(memsw, memory)
                } else if !hasMemsw, previous == nil, Self.hostHasSwap {
                    // Without memsw, swappiness 0 keeps the group's anonymous memory out of swap.
                    try Posix.writeFile(mem + "/memory.swappiness", "0")
                }
                // v1 charges socket buffers to no one unless the group's TCP account is limited; once it is,
                // TCP and UDP buffers of the jail's sockets count against it (v2 charges them to memory.max).
                if Posix.exists(mem + "/" + Self.v1SocketMemoryFile) {
                    try Posix.writeFile(mem + "/" + Self.v1SocketMemoryFile, memory)
                }
            }
            if processesChanged { try Posix.writeFile(roots["pids"]! + "/" + name + "/pids.max", String(limits.processes)) }
            if let cpu = roots["cpu"] {
                if previous == nil { try Posix.writeFile(cpu + "/" + name + "/cpu.cfs_period_us", String(Self.cpuPeriodMicroseconds)) }
                if cpuChanged { try Posix.writeFile(cpu + "/" + name + "/cpu.cfs_quota_us", String(Self.cpuQuotaMicroseconds(limits))) }
            }
        case .unavailable:
            break
        }
    }

    /// CFS period of every jail: 100 ms, the kernel's default.
    static let cpuPeriodMicroseconds = 100_000

    /// CPU time the jail may use per period: its share of one core (100% = one core per period).
    static func cpuQuotaMicroseconds(_ limits: ResourceLimits) -> Int {
        cpuPeriodMicroseconds * limits.effectiveCPUPercent / 100
    }

    /// The v1 file that limits (and so turns on) socket memory accounting of a group.
    static let v1SocketMemoryFile = "memory.kmem.tcp.limit_in_bytes"

    /// What the group measured over its life.
    struct Usage {
        var cpuNanoseconds: UInt64?
        var peakMemoryBytes: UInt64?
        var oomKills: Int = 0
        var pidsLimitHits: Int = 0
    }

    func usage() -> Usage {
        var u = Usage()
        switch hierarchy {
        case .v2:
            let dir = directories["unified"]!
            if let usec = Self.field("usage_usec", in: Posix.readFile(dir + "/cpu.stat")) { u.cpuNanoseconds = usec * 1000 }
            u.peakMemoryBytes = Posix.readFile(dir + "/memory.peak").flatMap { UInt64($0.trimmingWhitespace) }
            u.oomKills = Int(Self.field("oom_kill", in: Posix.readFile(dir + "/memory.events")) ?? 0)
            u.pidsLimitHits = Int(Self.field("max", in: Posix.readFile(dir + "/pids.events")) ?? 0)
        case .v1(let roots):
            if let acct = roots["cpuacct"] {
                u.cpuNanoseconds = Posix.readFile(acct + "/" + name + "/cpuacct.usage").flatMap { UInt64($0.trimmingWhitespace) }
            }
            let mem = roots["memory"]! + "/" + name
            u.peakMemoryBytes = Posix.readFile(mem + "/memory.max_usage_in_bytes").flatMap { UInt64($0.trimmingWhitespace) }
            u.oomKills = Int(Self.field("oom_kill", in: Posix.readFile(mem + "/memory.oom_control")) ?? 0)
            u.pidsLimitHits = Int(Self.field("max", in: Posix.readFile(roots["pids"]! + "/" + name + "/pids.events")) ?? 0)
        case .unavailable:
            break
        }
        return u
    }

    /// SIGKILLs every process left in the group (a jail whose init is gone has none).
    func killAll() {
        for dir in directories.values {
            if case .v2 = hierarchy, Posix.exists(dir + "/cgroup.kill") {
                try? Posix.writeFile(dir + "/cgroup.kill", "1")
                continue
            }
            for pid in (Posix.readFile(dir + "/cgroup.procs") ?? "").split(separator: "\n").compactMap({ pid_t($0) }) {
                kill(pid, SIGKILL)
            }
        }
    }

    /// True while some process is still in the group (a removed group has none).
    var hasProcesses: Bool {
        directories.values.contains { dir in
            guard let procs = Posix.readFile(dir + "/cgroup.procs") else { return false }
            return procs.contains { $0.isNumber }
        }
    }

    /// Removes the group, retrying while the kernel finishes tearing down its last tasks.
    func remove() {
        for dir in directories.values {
            for attempt in 0..<200 {
                if rmdir(dir) == 0 || errno == ENOENT { break }
                if errno == EBUSY, attempt % 20 == 19 { killAll() }
                usleep(500)
            }
        }
    }

    /// Removes the group once the kernel has let its last task go, killing stragglers, for up to
    /// `seconds` (a session's many processes take longer to die than a run's). False if it is still there.
    @discardableResult
    func removeWaiting(seconds: Double) -> Bool {
        let deadline = Posix.monotonicNanoseconds() + UInt64(seconds * 1e9)
        while true {
            var left = false
            for dir in directories.values where rmdir(dir) != 0 && errno != ENOENT { left = true }
            if !left { return true }
            if Posix.monotonicNanoseconds() >= deadline { return false }
            killAll()
            usleep(2000)
        }
    }

    /// Removes the groups that jails of dead Corral processes left behind (named `<pid>-<n>`).
    static func removeStale(in hierarchy: CgroupHierarchy) {
        let roots: [String]
        switch hierarchy {
        case .v2(let root): roots = [root]
        case .v1(let r): roots = Array(r.values)
        case .unavailable: return
        }
        for root in roots {
            guard let dir = opendir(root) else { continue }
            var names: [String] = []
            while let entry = readdir(dir) {
                names.append(withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) })
            }
            closedir(dir)
            for name in names {
                guard let dash = name.firstIndex(of: "-"), let owner = pid_t(name[..<dash]), owner != getpid() else { continue }
                if kill(owner, 0) == 0 || errno == EPERM { continue } // its owner lives
                let group = JailCgroup(hierarchy: hierarchy, name: name)
                group.killAll()
                group.remove()
            }
        }
    }

    private static func field(_ key: String, in text: String?) -> UInt64? {
        guard let text else { return nil }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == key { return UInt64(parts[1]) }
        }
        return nil
    }
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}

extension JailCgroup {
    /// What the group's processes are doing, for an error about a jail that stopped answering:
    /// each process's name, state and kernel wait channel, and the CPU throttling and memory
    /// figures of the group (one line, bounded).
    func diagnosis() -> String {
        var parts: [String] = []
        let dirs = directories
        let procsDir = dirs["unified"] ?? dirs["pids"] ?? dirs["memory"] ?? dirs.values.sorted().first
        let pids = procsDir.map { (Posix.readFile($0 + "/cgroup.procs") ?? "").split(separator: "\n").compactMap { pid_t($0) } } ?? []
        let described = pids.prefix(12).map { pid -> String in
            let stat = Array((Posix.readFile("/proc/\(pid)/stat") ?? "").utf8)
            // "pid (comm) S ...": the name may hold spaces and parentheses; the state follows the last ')'.
            // Found by byte: by Character, a name's combining mark joins a parenthesis and hides it.
            let open = stat.firstIndex(of: UInt8(ascii: "(")), close = stat.lastIndex(of: UInt8(ascii: ")"))
            let name = open.flatMap { o in close.flatMap { c in o < c ? String(decoding: stat[(o + 1)..<c], as: UTF8.self) : nil } } ?? "?"
            let state = close.map { String(decoding: stat[$0...].dropFirst(2).prefix(1), as: UTF8.self) } ?? "?"
            let wchan = (Posix.readFile("/proc/\(pid)/wchan") ?? "").trimmingWhitespace
            return "\(pid) \(name) \(state)\(wchan.isEmpty || wchan == "0" ? "" : " in \(wchan)")"
        }
        parts.append("processes: " + (described.isEmpty ? "none" : described.joined(separator: ", ")))
        for (controller, file) in [("cpu", "cpu.stat"), ("cpu,cpuacct", "cpu.stat"), ("unified", "cpu.stat")] {
            guard let dir = dirs[controller], let text = Posix.readFile(dir + "/" + file) else { continue }
            let fields = text.split(separator: "\n").filter { $0.hasPrefix("nr_throttled") || $0.hasPrefix("throttled_") }
            if !fields.isEmpty { parts.append("cpu: " + fields.joined(separator: " ")) }
            break
        }
        if let bytes = currentMemoryBytes() { parts.append("memory: \(bytes >> 20) MB") }
        return parts.joined(separator: "; ")
    }
}
