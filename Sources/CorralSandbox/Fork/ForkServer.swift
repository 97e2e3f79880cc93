import CCorralSyscalls
import Dispatch
import Foundation
import Glibc
import Synchronization

/// A fork-server (zygote) of one interpreter: a template process with its runtime and preloaded
/// modules imported, living in a jail of its own that never runs a run's code. Each run is a fork
/// of it that enters fresh namespaces, filesystems, cgroup, rlimits, credentials and seccomp filter
/// before its code runs (`ZygoteProgram`; design and threat analysis in docs/fork-server.md).
/// Start one with `Sandbox.startForkServer`, run with `Sandbox.run(_:forkingFrom:)`.
public final class ForkServer: Sendable {
    let stub: JailStub
    /// The zygote's control socket (the parent's end of its stdin).
    var control: Int32 { stub.stdinWrite }
    /// One request at a time on the control stream.
    let sending = Mutex(())
    let runs = Atomic<Int>(0)
    /// When it started (CLOCK_MONOTONIC ns).
    public let startedAt: UInt64
    /// When a run last leased one of its identities (CLOCK_MONOTONIC ns; its start before any).
    private let lastLease: Atomic<UInt64>
    /// The identities its forks run as (each fork one of its own, as a cold jail has), mapped into
    /// the zygote's user namespace at `insideID(of:)`; which are free.
    let forkIdentities: [JailIdentity]
    private let slots: Mutex<(free: [Int], stopped: Bool)>
    private let identities: JailIdentityPool
    /// The cgroup each free fork identity's next run will have, with that run's jail made in it
    /// already (`park`: namespaces, filesystems, init and dropped program): the run pays neither.
    private let parked = Mutex<[Int: ParkedJail]>([:])
    private let hierarchy: CgroupHierarchy
    /// Parking (cgroup mkdir, a send to the zygote) runs here, never on the caller's thread, which
    /// may be the cooperative pool's.
    private let parking = DispatchQueue(label: "corral-fork-park")
    /// Set when no new run may start (stopping, or retired until its forks end).
    private let retired = Mutex(false)

    /// The limits a parked jail's filesystems are sized for (the template's; a run with others resizes them).
    let parkedLimits: ResourceLimits

    init(stub: JailStub, forkIdentities: [JailIdentity], identities: JailIdentityPool, hierarchy: CgroupHierarchy,
         parkedLimits: ResourceLimits) {
        self.stub = stub
        self.parkedLimits = parkedLimits
        self.hierarchy = hierarchy
        self.forkIdentities = forkIdentities
        self.identities = identities
        slots = Mutex((Array(forkIdentities.indices.reversed()), false))
        startedAt = Posix.monotonicNanoseconds()
        lastLease = Atomic(startedAt)
        identities.reservedForForks.add(forkIdentities.count, ordering: .relaxed)
    }

    /// Where the zygote's namespace maps fork identity `index` (root, program, nobody follow).
    static func insideID(of index: Int) -> UInt32 { 200_000 + UInt32(index) * JailIdentity.idsPerSlot }

    /// The zygote namespace's map lines of `identities` (appended to its own).
    static func idMapLines(_ identities: [JailIdentity]) -> String {
        identities.enumerated().map { "\(insideID(of: $0.offset)) \($0.element.rootHostID) 3\n" }.joined()
    }

    /// Forks that may run at once: each holds an identity until its jail is gone.
    public var capacity: Int { forkIdentities.count }

    /// Forks running now.
    public var busy: Int { slots.withLock { forkIdentities.count - $0.free.count } }

    /// A free fork identity's index, or nil when every one is in use (or the server is retired).
    public func leaseIdentity() -> Int? {
        guard !retired.withLock({ $0 }) else { return nil }
        // The identity free the longest: its jail had the most time to be made (`park`).
        let slot = slots.withLock { s in s.stopped || s.free.isEmpty ? nil : s.free.removeFirst() }
        if slot != nil { lastLease.store(Posix.monotonicNanoseconds(), ordering: .relaxed) }
        return slot
    }

    /// When a run last leased one of its identities (CLOCK_MONOTONIC ns; its start before any).
    public var lastLeasedAt: UInt64 { lastLease.load(ordering: .relaxed) }

    /// Jails parked for its identities' next runs now.
    public var parkedCount: Int { parked.withLock { $0.count } }

    /// A fork's identity comes back once its jail is gone (no process of it can hold an account):
    /// a jail is parked for its next run, off this thread; a retired server stops with its last fork.
    public func returnIdentity(_ index: Int) {
        parking.async { [self] in
            if !retired.withLock({ $0 }) { park(index) }
            let (stopped, idle) = slots.withLock { s -> (Bool, Bool) in
                if !s.stopped { s.free.append(index) }
                return (s.stopped, s.free.count == forkIdentities.count)
            }
            if stopped { releaseToPool(index) } else if idle, retired.withLock({ $0 }) { stop() }
        }
    }

    /// No new run starts here; the zygote stops once its forks in flight have ended (they live in
    /// its PID namespace's descendants, and end with it).
    /// Whether it takes no new run (retired, broken or stopped).
    public var isRetired: Bool { retired.withLock { $0 } }

    public func retire() {
        retired.withLock { $0 = true }
        let idle = slots.withLock { $0.free.count == forkIdentities.count }
        if idle { parking.async { [self] in stop() } }
    }

    /// The zygote stopped answering (a send or a fork's report timed out): no run may wait on it
    /// again, and it is replaced. It stops once its other forks have ended: they run in its PID
    /// namespace's descendants and would die with it.
    func markBroken() { retire() }

    /// Makes the cgroup of identity `index`'s next run and has the zygote make that run's jail in it
    /// (it waits, holding nothing of any run). A failure leaves the identity unparked: its next run
    /// joins a fresh cgroup and has its jail made on its own path.
    func park(_ index: Int) {
        guard !hierarchy.isUnavailable, !retired.withLock({ $0 }) else { return }
        let name = "\(getpid())-fork-\(ServiceSpawner.nextNumber())"
        guard let cgroup = try? JailCgroup.create(in: hierarchy, name: name) else { return }
        // Limited from the start (the run's own limits replace what differs); unlimited, it is not parked.
        do throws(SandboxError) { try cgroup.apply(parkedLimits) } catch {
            cgroup.remove()
            return
        }
        var fds: [Int32] = []
        defer { fds.forEach { close($0) } }
        for dir in Set(cgroup.directories.values).sorted() {
            let fd = open(dir + "/cgroup.procs", O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { cgroup.remove(); return }
            fds.append(fd)
        }
        struct Park: Encodable { var park: Int; var setup: ZygoteJailSetup }
        guard let message = try? Self.frame(Park(park: index, setup: ZygoteJailSetup(slot: index, limits: parkedLimits))),
              send(message, fds: fds) else {
            cgroup.remove()
            return
        }
        // The zygote answers with the socket the parked jail's init waits on: the run goes there straight.
        let answer = receiveParkAnswer(index)
        guard case .parked(let socket) = answer else {
            cgroup.killAll()
            cgroup.remove()
            // A zygote that could not fork now may later; one that does not answer is replaced.
            if case .broken = answer { markBroken() }
            return
        }
        let jail = ParkedJail(cgroup: cgroup, socket: socket)
        // Not after `stop()` emptied the table: a cgroup parked then would be left behind.
        let (replaced, late) = parked.withLock { p -> (ParkedJail?, Bool) in
            if slots.withLock({ $0.stopped }) { return (nil, true) }
            return (p.updateValue(jail, forKey: index), false)
        }
        if late { jail.discard() }
        replaced?.discard()
    }

    enum ParkAnswer { case parked(Int32), failed, broken }

    /// The zygote's answer to the park request of identity `index` within 5 s: `PARK` and the index
    /// with the parked init's socket, or `FAIL` and the index (it could not fork). No answer, or any other,
    /// and the zygote is broken: its control stream can no longer be trusted to pair answers.
    private func receiveParkAnswer(_ index: Int) -> ParkAnswer {
        var p = pollfd(fd: control, events: Int16(POLLIN), revents: 0)
        var waited = 0
        while true {
            let ready = poll(&p, 1, 5000)
            if ready < 0 && errno == EINTR && waited < 5 { waited += 1; continue }
            guard ready > 0 else { return .broken }
            break
        }
        var answer = [UInt8](repeating: 0, count: 8)
        var fd: Int32 = -1
        let n = answer.withUnsafeMutableBytes { corral_recv_with_fd(control, $0.baseAddress, UInt($0.count), &fd) }
        let expected = withUnsafeBytes(of: UInt32(truncatingIfNeeded: index).littleEndian) { Array($0) }
        guard n == 8, Array(answer[4...]) == expected else {
            if fd >= 0 { close(fd) }
            return .broken
        }
        switch (Array(answer[..<4]), fd >= 0) {
        case (Array("PARK".utf8), true): return .parked(fd)
        case (Array("FAIL".utf8), false): return .failed
        default:
            if fd >= 0 { close(fd) }
            return .broken
        }
    }

    /// The jail waiting for identity `index`'s run, if one does (taken: the run owns it).
    func takeParked(_ index: Int) -> ParkedJail? {
        parked.withLock { $0.removeValue(forKey: index) }
    }

    /// Gives up every parked jail: each identity's next run makes its jail on its own path (and
    /// parks the one after). An idle service's fork-servers do (`ForkServers.trim`); tests of
    /// that path too.
    public func discardParkedJails() {
        let all = parked.withLock { p -> [ParkedJail] in
            defer { p.removeAll() }
            return Array(p.values)
        }
        all.forEach { $0.discard() }
    }

    /// Parks a jail for every free identity (a new server, before its first runs).
    func parkAll() {
        let free = slots.withLock { $0.free }
        parking.sync { free.forEach(park) }
    }

    /// False once the zygote's jail is gone (it crashed, or something killed it).
    public var isAlive: Bool {
        var p = pollfd(fd: stub.pidfd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) == 0
    }

    /// Runs forked so far.
    public var forks: Int { runs.load(ordering: .relaxed) }

    /// Host pid of the zygote jail's init (tests attack it; `corral doctor` names it).
    public var initPID: Int32 { stub.pid }

    /// Memory the zygote's jail and its parked jails hold (their cgroups' counts).
    public var memoryBytes: UInt64? {
        guard let zygote = stub.cgroup?.currentMemoryBytes() else { return nil }
        let cgroups = parked.withLock { $0.values.map(\.cgroup) }
        return cgroups.reduce(zygote) { $0 + ($1.currentMemoryBytes() ?? 0) }
    }

    /// Kills the zygote and its jail. Runs already forked are in their own jails and finish (their
    /// identities go back to the host's pool as they end).
    public func stop() {
        retired.withLock { $0 = true }
        let free = slots.withLock { s -> [Int] in
            defer { s.free = []; s.stopped = true }
            return s.stopped ? [] : s.free
        }
        // Descriptors stay open until the last reference goes (`deinit`): another thread may be
        // sending on the control socket or polling the pidfd, and a closed number is soon another file's.
        stub.destroy(closingDescriptors: false)
        // The parked jails end with their zygote's jail (and their sockets); their cgroups go too.
        let waiting = parked.withLock { p -> [ParkedJail] in defer { p.removeAll() }; return Array(p.values) }
        for jail in waiting { jail.discard() }
        free.forEach(releaseToPool)
    }

    private func releaseToPool(_ index: Int) {
        identities.release(forkIdentities[index])
        identities.reservedForForks.subtract(1, ordering: .relaxed)
    }

    deinit {
        stop()
        stub.closeDescriptors()
    }
}

/// A fork identity's next jail, made ahead by the zygote: its cgroup (limited with the template's
/// limits) and the socket its init waits on for the run (`ZygoteProgram`'s `park`).
struct ParkedJail: Sendable {
    let cgroup: JailCgroup
    let socket: Int32

    /// Gives it up: the init reads EOF and leaves (its program and namespaces with it).
    func discard() {
        close(socket)
        cgroup.killAll()
        cgroup.remove()
    }
}

/// The configuration a zygote reads first (`ZygoteProgram`): who a run becomes and what it gets.
struct ZygoteConfiguration: Encodable {
    var uid: UInt32
    var gid: UInt32
    /// The seccomp program (struct sock_filter array), hex.
    var seccomp: String
    var preload: [String]
    var workspace: String
    /// /proc entries bound read-only over themselves, as in a cold jail.
    var proc_hidden: [String]
    /// Network-namespace knobs each run's fresh namespace gets (path, value).
    var sysctls: [[String]]
    /// The caps each fork writes into its own user namespace's /proc/sys/user (name, value).
    var user_caps: [[String]]
    /// The OOM score a fork's init and the zygote take (the service's, as a cold init keeps it).
    var oom_score_adj: String
    /// Mount options of each fork's own devpts (a cold jail's).
    var devpts: String
}

/// One run's request to a zygote: its program, files, filesystems' sizes and rlimits.
struct ZygoteRequest: Encodable {
    struct File: Encodable {
        var path: String
        var size: Int
        var mode: Int
    }
    var argv: [String]
    var env: [[String]]
    var files: [File]
    var tmp_mb: Int
    var workspace_mb: Int
    var writable: Bool
    var rlimits: [[UInt64]]
    var cwd: String
}

/// The control message of a run, to a parked jail's init, or to the zygote when none is parked
/// (it forks a middle that joins the run's cgroup through the descriptors sent with it and makes
/// the jail now). The run's own bytes (`ZygoteRequest` and its files) travel in a memfd that only
/// the fork reads.
struct ZygoteRun: Encodable {
    var run = true
    var setup: ZygoteJailSetup
}

/// What a fork's jail is made with before its run comes (nothing of any run): the identity it runs
/// as (root, program and nobody ids in the zygote's namespace) and its filesystems' sizes, which a
/// run with other sizes changes.
struct ZygoteJailSetup: Encodable {
    var identity: [UInt32]
    var tmp_mb: Int
    var workspace_mb: Int

    init(slot: Int, limits: ResourceLimits) {
        identity = (0..<3).map { ForkServer.insideID(of: slot) + UInt32($0) }
        tmp_mb = limits.tmpMB
        workspace_mb = limits.workspaceMB
    }
}

extension ForkServer {
    /// Frames a message for the zygote: header length (u32), payload length (u64), JSON, payload.
    static func frame<T: Encodable>(_ header: T, payload: [UInt8] = []) throws(SandboxError) -> [UInt8] {
        let json: Data
        do { json = try JSONEncoder().encode(header) } catch {
            throw .invalidRequest("the fork-server request could not be encoded: \(error)")
        }
        var out: [UInt8] = []
        out.reserveCapacity(12 + json.count + payload.count)
        withUnsafeBytes(of: UInt32(json.count).littleEndian) { out += $0 }
        withUnsafeBytes(of: UInt64(payload.count).littleEndian) { out += $0 }
        out += json
        out += payload
        return out
    }

    /// Sends `message` with `fds` attached to its first bytes, within `timeoutMs` (a zygote that
    /// stopped reading must not hold the caller). False on failure or timeout.
    func send(_ message: [UInt8], fds: [Int32], timeoutMs: Int = 5000) -> Bool {
        sending.withLock { _ in Self.send(message, fds: fds, on: control, timeoutMs: timeoutMs) }
    }

    /// Sends `message` on `control` (a stream socket) with `fds` attached to its first bytes.
    static func send(_ message: [UInt8], fds: [Int32], on control: Int32, timeoutMs: Int = 5000) -> Bool {
        let deadline = Posix.monotonicNanoseconds() + UInt64(timeoutMs) * 1_000_000
        var offset = 0
        while offset < message.count {
            let now = Posix.monotonicNanoseconds()
            guard now < deadline else { return false }
            var p = pollfd(fd: control, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&p, 1, Int32((deadline - now) / 1_000_000) + 1)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0, p.revents & Int16(POLLOUT) != 0 else { return false }
            let n: Int = message.withUnsafeBytes { raw in
                let base = raw.baseAddress! + offset
                let length = raw.count - offset
                if offset == 0 {
                    return fds.withUnsafeBufferPointer {
                        corral_send_with_fds(control, base, UInt(length), $0.baseAddress, Int32(fds.count))
                    }
                }
                let sent = Glibc.send(control, base, length, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                return sent < 0 ? -Int(errno) : sent
            }
            if n == -Int(EINTR) || n == -Int(EAGAIN) { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }
}
