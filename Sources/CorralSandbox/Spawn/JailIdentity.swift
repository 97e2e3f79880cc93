import Glibc
import Synchronization

/// The host ids one jail runs as, distinct from every other jail alive at the same time.
///
/// The kernel keeps many accounts per user: pipe buffer pages, inotify instances and watches,
/// POSIX message queue bytes, pending signals, user namespaces. A jail's processes are charged
/// under their host uid, and every count made inside a user namespace is charged again, up the
/// chain, to the uid that *created* the namespace. With one uid for all jails, one jail could
/// drain an account for all the others; with root as the creator, for host root itself.
/// So each concurrent jail gets a slot of its own: its namespace is created by, and its root
/// runs as, `rootHostID`; its program runs as `programHostID`. No host process has these ids.
public struct JailIdentity: Sendable, Equatable {
    /// Index of the slot; ids are a pure function of it.
    public let slot: Int

    public init(slot: Int) { self.slot = slot }
    /// Host uid and gid of the jail's root, which also owns (created) the jail's user namespace.
    public var rootHostID: UInt32 { JailIdentity.firstHostID + UInt32(slot) * JailIdentity.idsPerSlot }
    /// Host uid and gid of the program (uid `programID` inside).
    public var programHostID: UInt32 { rootHostID + 1 }
    /// Host uid and gid of the jail's `nobody`/`nogroup` (65534 inside). Mapped so that, as on any
    /// Linux host, an unprivileged `setuid(65534)` fails with EPERM rather than EINVAL (unmapped id),
    /// and tools that switch to nobody (CPython's subprocess tests, daemons) see a normal system.
    public var nobodyHostID: UInt32 { rootHostID + 2 }
    /// The program's uid and gid inside the jail.
    public static let programID: UInt32 = 1000
    /// `nobody` and `nogroup` inside the jail.
    public static let nobodyID: UInt32 = 65534

    /// The jail's uid_map and gid_map (the same ids for users and groups).
    public var idMap: String {
        "0 \(rootHostID) 1\n\(Self.programID) \(programHostID) 1\n\(Self.nobodyID) \(nobodyHostID) 1\n"
    }

    /// First host id of the range (above the ids distributions hand out, below 2^31).
    public static let firstHostID: UInt32 = 2_000_000
    /// Host ids each slot owns (root, program, nobody, one spare).
    public static let idsPerSlot: UInt32 = 4
    /// Jails alive at once, at most; the range is `firstHostID ..< firstHostID + idsPerSlot * slotCount`.
    public static let slotCount = 4096
}

/// Hands out identity slots; a slot returns once its jail is reaped, so no process of an earlier
/// jail can still hold an account when a later one gets the same ids.
///
/// Slots are exclusive host-wide, not only in this process: each slot in use holds an exclusive
/// `flock` on `lockDirectory/<slot>`, so two `corral serve` instances on one host (a fleet's
/// quick start, two pods on one node, a CLI run beside a server) never give two live jails the
/// same ids. The kernel drops a lock when its holder dies, so a killed instance frees its slots.
final class JailIdentityPool: Sendable {
    private struct State {
        var free: [Int]
        var inUse = 0
        /// The lock file descriptor of each slot in use.
        var locks: [Int: Int32] = [:]
    }
    private let state: Mutex<State>
    let lockDirectory: String

    /// Where the slot locks live: on the host's /run (a tmpfs), root's only.
    static let defaultLockDirectory = "/run/corral/identities"

    init(slots: Int = JailIdentity.slotCount, lockDirectory: String = JailIdentityPool.defaultLockDirectory) {
        // Lowest slots first: popLast takes from the end.
        state = Mutex(State(free: Array((0..<slots).reversed())))
        self.lockDirectory = lockDirectory
    }

    func acquire() throws(SandboxError) -> JailIdentity {
        try state.withLock { s throws(SandboxError) -> JailIdentity in
            var heldElsewhere: [Int] = []
            // Slots another process holds are tried again after every other one.
            defer { s.free.insert(contentsOf: heldElsewhere, at: 0) }
            while let slot = s.free.popLast() {
                switch lock(slot) {
                case .locked(let fd):
                    s.locks[slot] = fd
                    s.inUse += 1
                    return JailIdentity(slot: slot)
                case .heldElsewhere:
                    heldElsewhere.append(slot)
                case .failed(let call, let errno):
                    s.free.append(slot)
                    throw .system(call: call, errno: errno, context: "\(lockDirectory)/\(slot): a jail's identity must be locked host-wide before it is used")
                }
            }
            throw .invalidRequest("all \(JailIdentity.slotCount) jail identities are in use (by this and other corral processes on the host); too many jails at once")
        }
    }

    func release(_ identity: JailIdentity) {
        let fd = state.withLock { s -> Int32? in
            s.free.append(identity.slot)
            s.inUse -= 1
            return s.locks.removeValue(forKey: identity.slot)
        }
        if let fd { close(fd) }
    }

    /// Slots held by live jails (tests check that every run gives its slot back).
    var inUse: Int { state.withLock { $0.inUse } }

    /// Of those, slots fork-servers hold for their forks (free or in use; see `ForkServer`).
    let reservedForForks = Atomic<Int>(0)

    enum LockOutcome { case locked(Int32), heldElsewhere, failed(String, Int32) }

    private func lock(_ slot: Int) -> LockOutcome {
        let path = "\(lockDirectory)/\(slot)"
        var fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        if fd < 0 && errno == ENOENT {
            guard Self.makeDirectory(lockDirectory) else { return .failed("mkdir", errno) }
            fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        }
        guard fd >= 0 else { return .failed("open", errno) }
        var result: Int32
        repeat { result = flock(fd, LOCK_EX | LOCK_NB) } while result != 0 && errno == EINTR
        if result == 0 { return .locked(fd) }
        let e = errno
        close(fd)
        return e == EWOULDBLOCK ? .heldElsewhere : .failed("flock", e)
    }

    /// Creates `path` and its parents, mode 0700.
    static func makeDirectory(_ path: String) -> Bool {
        var current = ""
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o700) != 0 && errno != EEXIST { return false }
        }
        return true
    }
}
