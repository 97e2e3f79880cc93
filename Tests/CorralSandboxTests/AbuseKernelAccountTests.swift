import CorralSandbox
import CorralTestSupport
import Foundation
import Glibc
import Testing

/// Kernel accounts no cgroup charges (docs/threat-model.md, classes 2–5): per-user counts that a
/// user namespace charges up to its creator, machine-wide pools, socket buffers, and the per-uid
/// accounts jails would share with one host uid. Each attack runs in a jail that *holds* what it
/// took while the test checks, from outside, that the host and a concurrent jail are unaffected.
///
/// Serialized: the host-side checks read machine-wide counters that another test's jail could move.
@Suite(.serialized, .enabled(if: TestSupport.jailsAvailable && isX86_64))
struct AbuseKernelAccountTests {
    /// How long an attacking jail holds what it took; host checks run in the middle of it.
    static let holdSeconds = 4.0
    static let checkAfter: Duration = .milliseconds(1500)

    /// Runs `program` on the host as root with python3 (for the host half of each check).
    static func hostPython(_ program: String) -> (Int32, [String: String]) {
        let path = NSTemporaryDirectory() + "corral-host-\(UUID().uuidString).py"
        FileManager.default.createFile(atPath: path, contents: Data((Abuse.prelude + program).utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (status, output) = TestSupport.hostShell("python3 \(path)")
        return (status, Abuse.fields(output))
    }

    // MARK: 3. Per-user counts charged up the namespace chain

    /// Five jails each take every inotify instance they can and hold them. Charged to one account
    /// (host root, the creator of every namespace before), 5 × 32 would pass root's 128 and root
    /// would get EMFILE; each jail must stop at its own namespace's cap and root must not notice.
    @Test func inotifyInstancesStopAtTheJailsCapAndHostRootKeepsItsOwn() async throws {
        let rootLimit = Int((try String(contentsOfFile: "/proc/sys/fs/inotify/max_user_instances", encoding: .utf8))
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let attack = #"""
        import time
        n = 0
        while libc.inotify_init() >= 0:
            n += 1
        print(f"instances={n}", flush=True)
        print(f"stopped={name_of(ctypes.get_errno())}", flush=True)
        time.sleep(\#(Self.holdSeconds))
        """#
        let jails = 5
        async let results = withTaskGroup(of: (RunResult, [String: String]).self) { group in
            for _ in 0..<jails { group.addTask { await Abuse.python(attack) } }
            return await group.reduce(into: [(RunResult, [String: String])]()) { $0.append($1) }
        }
        try await Task.sleep(for: Self.checkAfter)
        let (status, host) = Self.hostPython(#"""
        fds = []
        for i in range(40):
            r = libc.inotify_init()
            if r < 0:
                print(f"host_inotify={name_of(ctypes.get_errno())}"); break
            fds.append(r)
        else:
            print("host_inotify=ok")
        """#)
        let finished = await results
        #expect(status == 0)
        #expect(host["host_inotify"] == "ok", "host root lost inotify while jails held theirs")
        #expect(jails * 32 > rootLimit, "the attack must be able to exhaust root's \(rootLimit) if it were charged there")
        for (result, fields) in finished {
            #expect(result.status == .success, "\(result)")
            #expect(fields["instances"] == "32")
            #expect(fields["stopped"] == "EMFILE")
        }
        await Abuse.expectHealthy()
    }

    /// Signals queued to a blocked handler (what `timer_create` preallocates too) were charged to
    /// host root's RLIMIT_SIGPENDING: one jail took all 96k and root got EAGAIN from sigqueue.
    @Test func pendingSignalsStopAtTheJailsRlimitAndHostRootCanQueue() async throws {
        async let attack = Abuse.python(#"""
        import signal, time
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGRTMIN])
        n = 0
        while libc.sigqueue(os.getpid(), signal.SIGRTMIN, 0) == 0:
            n += 1
        print(f"queued={n}", flush=True)
        print(f"stopped={name_of(ctypes.get_errno())}", flush=True)
        time.sleep(\#(Self.holdSeconds))
        """#)
        try await Task.sleep(for: Self.checkAfter)
        let (status, host) = Self.hostPython(#"""
        import signal
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGRTMIN])
        n = 0
        while n < 1000 and libc.sigqueue(os.getpid(), signal.SIGRTMIN, 0) == 0:
            n += 1
        print(f"host_queued={n}")
        timer = ctypes.c_void_p()
        r = libc.timer_create(1, None, ctypes.byref(timer))           # CLOCK_MONOTONIC, SIGEV_SIGNAL/SIGALRM
        print("host_timer_create=" + ("ok" if r == 0 else name_of(ctypes.get_errno())))
        """#)
        let (result, fields) = await attack
        #expect(status == 0)
        #expect(host["host_queued"] == "1000")
        #expect(host["host_timer_create"] == "ok")
        #expect(result.status == .success, "\(result)")
        #expect(fields["queued"] == "256")
        #expect(fields["stopped"] == "EAGAIN")
        await Abuse.expectHealthy()
    }

    /// POSIX message queue bytes are a per-user account (RLIMIT_MSGQUEUE), not cgroup memory.
    @Test func messageQueuesAreRefusedInTheJailAndWorkForHostRoot() async throws {
        async let attack = Abuse.python(#"""
        import time
        libc.mq_open.restype = ctypes.c_int
        r = libc.mq_open(b"/corral-attack", os.O_CREAT | os.O_RDWR, 0o600, None)
        print(f"mq_open={'ok' if r >= 0 else name_of(ctypes.get_errno())}", flush=True)
        time.sleep(\#(Self.holdSeconds))
        """#)
        try await Task.sleep(for: Self.checkAfter)
        let (status, host) = Self.hostPython(#"""
        libc.mq_open.restype = ctypes.c_int
        name = f"/corral-host-{os.getpid()}".encode()
        r = libc.mq_open(name, os.O_CREAT | os.O_RDWR, 0o600, None)
        print(f"host_mq_open={'ok' if r >= 0 else name_of(ctypes.get_errno())}")
        libc.mq_unlink(name)
        """#)
        let (result, fields) = await attack
        #expect(status == 0)
        #expect(host["host_mq_open"] == "ok")
        #expect(result.status == .success, "\(result)")
        #expect(fields["mq_open"] == "EMFILE")
        await Abuse.expectHealthy()
    }

    /// The jail's user namespace is owned by the jail's own unprivileged host uid, never by root.
    @Test func theJailsUserNamespaceIsOwnedByItsOwnUnprivilegedUID() async throws {
        var spec = JailSpec(arguments: ["/bin/sleep", "2"], environment: JailSpec.baseEnvironment)
        spec.limits.timeoutSeconds = 10
        let box = Abuse.HandleBox()
        async let result = TestSupport.sandbox.run(spec) { box.set($0) }
        try await Task.sleep(for: .milliseconds(700))
        let handle = try #require(box.handle)
        let (status, output) = TestSupport.hostShell("""
        python3 -c "import fcntl, os, struct; fd = os.open('/proc/\(handle.initPID)/ns/user', os.O_RDONLY); \
        print(struct.unpack('I', fcntl.ioctl(fd, 0xb704, bytes(4)))[0])"
        """)
        let ownerMap = try String(contentsOfFile: "/proc/\(handle.initPID)/uid_map", encoding: .utf8)
        #expect(await result.status == .success)
        #expect(status == 0, "\(output)")
        let owner = UInt32(output.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(owner != nil && owner != 0, "the jail's user namespace is owned by uid \(output)")
        #expect(owner.map { $0 >= JailIdentity.firstHostID } == true)
        // The owner is the host uid the jail's root maps to.
        #expect(ownerMap.split(separator: "\n").first?.split(separator: " ").compactMap { UInt32($0) } == [0, owner ?? 0, 1])
    }

    // MARK: 4. Machine-wide pools

    /// One io_setup(65536) took all of fs.aio-max-nr for the whole machine.
    @Test func nativeAIOIsUnavailableInTheJailAndTheHostPoolIsUntouched() async throws {
        let before = Self.aioInUse()
        async let attack = Abuse.python(#"""
        import time
        ctx = ctypes.c_ulong(0)
        call("io_setup_65536", 206, 65536, ctypes.byref(ctx))
        call("io_setup_1", 206, 1, ctypes.byref(ctx))
        call("io_submit", 209, 0, 0, 0)
        call("io_getevents", 208, 0, 0, 0, 0, 0)
        call("io_pgetevents", 333, 0, 0, 0, 0, 0, 0)
        call("io_destroy", 207, 0)
        time.sleep(\#(Self.holdSeconds / 2))
        """#)
        try await Task.sleep(for: Self.checkAfter)
        let during = Self.aioInUse()
        let (status, host) = Self.hostPython(#"""
        ctx = ctypes.c_ulong(0)
        call("host_io_setup", 206, 128, ctypes.byref(ctx))
        call("host_io_destroy", 207, ctx)
        """#)
        let (result, fields) = await attack
        #expect(status == 0)
        #expect(host == ["host_io_setup": "ok", "host_io_destroy": "ok"])
        #expect(during == before, "fs.aio-nr moved from \(before) to \(during) while the jail ran")
        #expect(result.status == .success, "\(result)")
        #expect(fields == ["io_setup_65536": "ENOSYS", "io_setup_1": "ENOSYS", "io_submit": "ENOSYS",
                           "io_getevents": "ENOSYS", "io_pgetevents": "ENOSYS", "io_destroy": "ENOSYS"])
        await Abuse.expectHealthy()
    }

    static func aioInUse() -> Int {
        Int(((try? String(contentsOfFile: "/proc/sys/fs/aio-nr", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// modify_ldt (16-bit segments, a history of kernel bugs) is refused, as in Docker's profile.
    @Test func modifyLDTIsRefused() async {
        let (result, fields) = await Abuse.python(#"""
        buf = ctypes.create_string_buffer(16)
        call("modify_ldt_read", 154, 0, buf, 16)
        """#)
        #expect(result.status == .success, "\(result)")
        #expect(fields["modify_ldt_read"] == "EPERM")
        let (_, host) = Self.hostPython(#"""
        buf = ctypes.create_string_buffer(16)
        call("host_modify_ldt_read", 154, 0, buf, 16)
        """#)
        #expect(host["host_modify_ldt_read"] == "ok", "modify_ldt works unsandboxed: the EPERM above is the filter's")
    }

    /// A private devpts per jail: terminals work (os.openpty, `script`), the jail sees none of the
    /// host's, and it may hold 16 at once, so that the machine-wide `kernel.pty.max` (shared by every
    /// devpts instance) stays available to the host and the other jails.
    @Test func pseudoTerminalsArePrivateAndCappedPerJail() async throws {
        let hostBefore = Self.hostPseudoTerminals()
        async let attack = Abuse.python(#"""
        import time
        print("pts_seen=" + ",".join(sorted(n for n in os.listdir("/dev/pts") if n != "ptmx")), flush=True)
        held = []
        try:
            while True: held.append(os.openpty())
        except OSError as e:
            print(f"held={len(held)}", flush=True)
            print(f"stopped={name_of(e.errno)}", flush=True)
        print("tty=" + os.ttyname(held[0][1]), flush=True)
        import fcntl
        attempt("tiocsti", lambda: fcntl.ioctl(held[0][1], 0x5412, b"x"))
        time.sleep(\#(Self.holdSeconds / 2))
        """#)
        try await Task.sleep(for: Self.checkAfter)
        let (status, host) = Self.hostPython(#"""
        m, s = os.openpty()
        print("host_openpty=ok")
        """#)
        let (result, fields) = await attack
        #expect(status == 0)
        #expect(host["host_openpty"] == "ok")
        #expect(result.status == .success, "\(result)")
        #expect(fields["pts_seen"] == "", "the jail saw terminals it did not open")
        #expect(fields["held"] == "16")
        #expect(fields["stopped"] == "ENOSPC")
        #expect(fields["tty"] == "/dev/pts/0")
        #expect(fields["tiocsti"] == "EPERM")
        #expect(Self.hostPseudoTerminals() <= hostBefore + 1)
    }

    /// Pseudo-terminals allocated on the whole machine.
    static func hostPseudoTerminals() -> Int {
        Int(((try? String(contentsOfFile: "/proc/sys/kernel/pty/nr", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    // MARK: 2. Socket buffers

    /// Loopback TCP buffers, enlarged with SO_SNDBUF/SO_RCVBUF and filled without reading: under a
    /// 48 MB limit a jail held 1.2 GiB of host memory this way (cgroup v1 charges sockets to no one
    /// unless the group's TCP account is limited). Held now: at most the memory limit, and the
    /// host's TCP memory (/proc/net/sockstat, machine-wide) grows by no more than that.
    @Test func socketBuffersAreChargedToTheJailsMemoryLimit() async throws {
        var limits = ResourceLimits()
        limits.memoryMB = 48
        let before = Self.hostTCPMemoryPages()
        async let attack = Abuse.python(#"""
        import socket, time
        server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(512)
        held, pairs, error = 0, [], "none"
        try:
            for _ in range(100):
                c = socket.socket(); c.connect(server.getsockname()); s, _ = server.accept()
                c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
                c.setblocking(False); pairs.append((c, s))
                while True:
                    try: held += c.send(b"x" * 65536)
                    except BlockingIOError: break
        except OSError as e:
            error = name_of(e.errno)
        print(f"held_mb={held >> 20}", flush=True)
        print(f"error={error}", flush=True)
        time.sleep(\#(Self.holdSeconds))
        """#, limits: limits)
        try await Task.sleep(for: .milliseconds(2500))
        let during = Self.hostTCPMemoryPages()
        let (status, host) = Self.hostPython(#"""
        import socket
        server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(1)
        c = socket.socket(); c.connect(server.getsockname()); s, _ = server.accept()
        data = b"y" * (4 << 20)
        c.setblocking(False); sent = 0
        import select
        got = 0
        while got < len(data):
            if sent < len(data):
                try: sent += c.send(data[sent:sent + 65536])
                except BlockingIOError: pass
            r, _, _ = select.select([s], [], [], 1)
            if not r: break
            got += len(s.recv(1 << 20))
        print(f"host_tcp_mb={got >> 20}")
        """#)
        let (result, fields) = await attack
        #expect(status == 0)
        #expect(host["host_tcp_mb"] == "4", "a host TCP connection could not move 4 MiB while the jail held its buffers")
        #expect(result.status == .success || result.status == .memoryLimit, "\(result)")
        // The TCP account admits a little over its limit (the kernel forces the first buffer of each
        // socket through): a few MiB over 48, never the 1.2 GiB of an uncharged jail.
        let held = Int(fields["held_mb"] ?? "") ?? .max
        #expect(result.status == .memoryLimit || held <= 60, "the jail held \(held) MiB of socket buffers under a 48 MB limit")
        if let before, let during {
            let grownMB = (during - before) * 4096 >> 20
            #expect(grownMB <= 64, "host TCP memory grew by \(grownMB) MiB while a 48 MB jail ran")
        }
        await Abuse.expectHealthy()
    }

    /// Pages of TCP buffers in use on the whole machine (`TCP: ... mem N` of /proc/net/sockstat).
    static func hostTCPMemoryPages() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/net/sockstat", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("TCP:") }) else { return nil }
        let words = line.split(separator: " ")
        guard let i = words.firstIndex(of: "mem"), i + 1 < words.count else { return nil }
        return Int(words[i + 1])
    }

    // MARK: 5. One host uid per jail

    /// Pipe buffer pages are a per-uid account (fs.pipe-user-pages-soft = 64 MiB): jail A takes it
    /// all with 64 pipes of 1 MiB; jail B, running at the same time, must still get a 1 MiB pipe.
    @Test func aConcurrentJailStillGetsFullSizePipes() async throws {
        async let hog = Abuse.python(#"""
        import fcntl, time
        print("uid_map=" + open("/proc/self/uid_map").read().split()[4], flush=True)
        pipes, ok = [], 0
        for _ in range(64):
            r, w = os.pipe(); pipes.append((r, w))
            try:
                fcntl.fcntl(w, 1031, 1 << 20); ok += 1         # F_SETPIPE_SZ
            except OSError:
                break
        print(f"big_pipes={ok}", flush=True)
        time.sleep(\#(Self.holdSeconds))
        """#)
        try await Task.sleep(for: Self.checkAfter)
        let (victim, fields) = await Abuse.python(#"""
        import fcntl
        print("uid_map=" + open("/proc/self/uid_map").read().split()[4], flush=True)
        r, w = os.pipe()
        attempt("setpipe_1mib", lambda: fcntl.fcntl(w, 1031, 1 << 20))
        print(f"size={fcntl.fcntl(w, 1032)}")                 # F_GETPIPE_SZ
        """#)
        let (hogResult, hogFields) = await hog
        #expect(hogResult.status == .success, "\(hogResult)")
        #expect(hogFields["big_pipes"] == "64")
        #expect(victim.status == .success, "\(victim)")
        #expect(fields["setpipe_1mib"] == "ok")
        #expect(fields["size"] == "1048576")
        #expect(fields["uid_map"] != nil && fields["uid_map"] != hogFields["uid_map"], "the two jails ran as the same host uid")
    }

    /// Every identity slot returns once its jail has gone: afterwards only jails still alive (pooled
    /// stubs, warm jails, service workers, zygotes: each a child process of this one) hold one, and
    /// fork-servers the ones they keep for their forks.
    @Test func identitySlotsReturnAfterRuns() async {
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 { group.addTask { _ = await TestSupport.run("bash", "true") } }
            for _ in 0..<4 { group.addTask { _ = await TestSupport.run("python", "pass") } }
        }
        try? await Task.sleep(for: .milliseconds(500))
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        let children = Set(tasks.flatMap { task in
            (Posix.readFile("/proc/self/task/\(task)/children") ?? "").split(separator: " ").map(String.init)
        })
        // A fork-server's zygote is one child that holds the identities of its forks as well.
        let reserved = TestSupport.sandbox.identitiesReservedForForks
        #expect(TestSupport.sandbox.identitiesInUse - reserved <= children.count,
                "\(TestSupport.sandbox.identitiesInUse) identities held (\(reserved) by fork-servers), \(children.count) jails alive")
    }
}
