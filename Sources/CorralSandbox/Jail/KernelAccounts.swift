/// Caps on the kernel accounts a jail could otherwise drain for everyone else on the host
/// (docs/threat-model.md). The memory cgroup bounds pages; these bound the *counts* the kernel
/// keeps per user, per namespace or machine-wide, which no cgroup charges.
enum KernelAccounts {
    /// Per-user-namespace caps, written by the init into its own namespace's `/proc/sys/user`.
    /// The kernel checks a count against every namespace up the chain, so these bind the jail
    /// before its namespace's owner (a per-jail host uid) is charged at all.
    static let userNamespaceCaps: [(name: String, value: Int)] = [
        // inotify: Node's fs.watch and editors use a few; 128 per user host-wide is the default pool.
        ("max_inotify_instances", 32),
        ("max_inotify_watches", 8192),
        // fanotify needs CAP_SYS_ADMIN in the initial namespace anyway; the seccomp filter denies it too.
        ("max_fanotify_groups", 0),
        ("max_fanotify_marks", 0),
        // No user namespace inside a jail: seccomp refuses clone/unshare/setns with namespace flags
        // first; this is the backstop should a filter ever let one through. The other kinds need
        // CAP_SYS_ADMIN in the jail's namespace, which the program never has without a user
        // namespace of its own, so capping them too would cost every run (~10 µs a knob) for nothing.
        ("max_user_namespaces", 0),
    ]

    /// User namespaces each id of a fork-server's zygote namespace may hold: a fork's root makes one
    /// (the kernel frees an ended one's count a little later, when the identity may be in use again).
    static let zygoteUserNamespaces = 16

    /// Caps the kernel knows on this host (an older kernel lacks some knobs; the rest still apply).
    static let presentUserNamespaceCaps = userNamespaceCaps.filter { Posix.exists("/proc/sys/user/" + $0.name) }

    /// Per-network-namespace TCP buffer bounds (min, default, max bytes per socket). The machine-wide
    /// defaults allow 32 MiB of receive buffer per socket; socket memory is charged to the jail's
    /// memory cgroup too (v1: `memory.kmem.tcp.limit_in_bytes`), and these keep one socket from
    /// taking all of it at once. `net.core.[rw]mem_max` are not namespaced (read-only in a jail's
    /// network namespace on Linux 6.x): the cgroup charge is what bounds `SO_RCVBUF` there.
    static let tcpReceiveBuffer = "4096 131072 1048576"
    static let tcpSendBuffer = "4096 16384 1048576"

    /// POSIX message queues: none (their bytes are a per-user account, not memory of the cgroup).
    static let messageQueueBytes: UInt64 = 0
    /// Queued signals (also preallocated by `timer_create`): enough for any ordinary program.
    static let pendingSignals: UInt64 = 256
}
