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
final class JailIdentityPool: Sendable {
    private struct State {
        var free: [Int]
        var inUse = 0
    }
    private let state: Mutex<State>

    init(slots: Int = JailIdentity.slotCount) {
        // Lowest slots first: popLast takes from the end.
        state = Mutex(State(free: Array((0..<slots).reversed())))
    }

    func acquire() throws(SandboxError) -> JailIdentity {
        let slot = state.withLock { s -> Int? in
            guard let slot = s.free.popLast() else { return nil }
            s.inUse += 1
            return slot
        }
        guard let slot else {
            throw .invalidRequest("all \(JailIdentity.slotCount) jail identities are in use; too many jails at once")
        }
        return JailIdentity(slot: slot)
    }

    func release(_ identity: JailIdentity) {
        state.withLock { s in
            s.free.append(identity.slot)
            s.inUse -= 1
        }
    }

    /// Slots held by live jails (tests check that every run gives its slot back).
    var inUse: Int { state.withLock { $0.inUse } }
}
