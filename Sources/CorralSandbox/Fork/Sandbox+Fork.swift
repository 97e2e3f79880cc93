import CCorralJail
import CCorralSyscalls
import Foundation
import Glibc

extension Sandbox {
    /// Starts a fork-server: `template`'s interpreter runs `runner` (a language's code that defines
    /// `_corral_run_main(argv, environment)`) followed by the zygote (`ZygoteProgram`), in a jail laid
    /// out as a cold one's whose program stays the namespace's root. `template.arguments` holds
    /// `{zygote}` where the interpreter takes its program text (`python3 -B -c {zygote}`).
    /// Needs cgroups: each run's limits are its own cgroup's.
    public func startForkServer(_ template: JailSpec, runner: String, preload: [String]) async throws(SandboxError) -> ForkServer {
        try template.limits.validate()
        guard !template.network, template.workspaceDirectory == nil, template.outputDirectory == nil else {
            throw .invalidRequest("a fork-server's template has no network, no host workspace and no output directory")
        }
        guard !cgroups.isUnavailable else {
            throw .invalidRequest("a fork-server needs cgroups (each forked run is limited by a cgroup of its own); runs use cold jails")
        }
        var spec = template
        spec.arguments = template.arguments.map { $0 == "{zygote}" ? runner + ZygoteProgram.source : $0 }
        let layout = JailLayout(stagingRoot: configuration.stagingRoot, programID: JailIdentity.programID, seccompProgram: seccompProgram)
        let encoded = try layout.encode(spec, zygote: true)
        let config = ZygoteConfiguration(
            uid: JailIdentity.programID, gid: JailIdentity.programID,
            seccomp: (seccompProgram ?? []).map { String($0, radix: 16).leftPadded(to: 2) }.joined(),
            preload: preload, workspace: JailSpec.workspacePath,
            proc_hidden: ["sys", "sysrq-trigger", "irq", "bus"].filter { Posix.exists("/proc/" + $0) },
            sysctls: [["/proc/sys/net/ipv4/tcp_rmem", KernelAccounts.tcpReceiveBuffer],
                      ["/proc/sys/net/ipv4/tcp_wmem", KernelAccounts.tcpSendBuffer]],
            user_caps: KernelAccounts.presentUserNamespaceCaps.map { [$0.name, String($0.value)] },
            oom_score_adj: (Posix.readFile("/proc/self/oom_score_adj") ?? "0").trimmingWhitespace,
            devpts: JailLayout.devptsOptions)
        let configMessage = try ForkServer.frame(config)
        let hierarchy = cgroups, identities = self.identities, limits = template.limits
        // The identities its forks run as: host ids of their own, as cold jails have.
        var forkIdentities: [JailIdentity] = []
        do throws(SandboxError) {
            for _ in 0..<Self.forksPerZygote { forkIdentities.append(try identities.acquire()) }
        } catch {
            forkIdentities.forEach { identities.release($0) }
            throw error
        }
        let spawner: SpawnerThread
        do throws(SandboxError) { spawner = try ServiceSpawner.shared() } catch {
            forkIdentities.forEach { identities.release($0) }
            throw error
        }
        let name = "\(getpid())-zygote-\(ServiceSpawner.nextNumber())"
        let extraMap = ForkServer.idMapLines(forkIdentities)
        let spawned: Result<JailStub, SandboxError> = await {
            do throws(SandboxError) {
                return .success(try await spawner.run { () throws(SandboxError) -> JailStub in
                    try JailStub.spawn(hierarchy: hierarchy, identities: identities, name: name, stdinSocket: true, extraIDMap: extraMap)
                })
            } catch {
                return .failure(error)
            }
        }()
        let stub: JailStub
        switch spawned {
        case .success(let s): stub = s
        case .failure(let error):
            forkIdentities.forEach { identities.release($0) }
            throw error
        }
        // From here the server owns the identities (released when it stops).
        let server = ForkServer(stub: stub, forkIdentities: forkIdentities, identities: identities, hierarchy: hierarchy,
                                parkedLimits: limits)
        do throws(SandboxError) { try stub.cgroup?.apply(limits) } catch {
            server.stop()
            throw error
        }
        guard Posix.writeAll(stub.specWrite, encoded.framed()) else {
            let e = errno
            server.stop()
            throw .system(call: "write", errno: e, context: "the fork-server's spec")
        }
        guard server.send(configMessage, fds: []) else {
            let tail = Self.pendingText(stub.stderrRead)
            server.stop()
            throw .invalidRequest("the fork-server did not take its configuration" + (tail.isEmpty ? "" : ": \(tail)"))
        }
        let ready = try await Self.onOwnThread { () throws(SandboxError) -> Bool in
            Self.awaitReadyByte(stub.stdoutRead, stub.pidfd, timeoutMs: Int32(Self.warmStartTimeoutMs))
        }
        guard ready else {
            let tail = Self.pendingText(stub.stderrRead)
            server.stop()
            throw .invalidRequest("the fork-server's zygote did not report that it waits for runs within "
                + "\(Self.warmStartTimeoutMs) ms" + (tail.isEmpty ? "" : "; its stderr: \(tail)"))
        }
        await Self.onOwnThreadQuietly { server.parkAll() }
        return server
    }

    /// Runs `body` on a thread of its own and waits for it (blocking set-up off the cooperative pool).
    static func onOwnThreadQuietly(_ body: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread { body(); continuation.resume() }.start()
        }
    }

    /// Runs `run` in a fork of `server`'s zygote. `.fellBack` when the fork failed before its program
    /// started (nothing of the run happened: the caller runs it on another jail); otherwise the result
    /// is exact as a cold run's, with times from the program's start (STARTED) to its reaping and CPU
    /// and memory from the run's own cgroup.
    /// `slot` is a fork identity leased from `server` (`ForkServer.leaseIdentity`); the run gives it back.
    public func run(_ run: WarmRun, forkingFrom server: ForkServer, identity slot: Int,
                    started: (@Sendable (JailHandle) -> Void)? = nil) async -> WarmOutcome {
        do throws(SandboxError) { try run.limits.validate() } catch {
            server.returnIdentity(slot)
            return .ran(.internalError(error.description))
        }
        guard server.isAlive else {
            server.returnIdentity(slot)
            return .fellBack(reason: "the fork-server's zygote is not running")
        }
        let forked: JailStub, cpuBaseline: UInt64
        do throws(SandboxError) {
            (forked, cpuBaseline) = try await Self.onOwnThread { [self] () throws(SandboxError) -> (JailStub, UInt64) in
                try fork(run, from: server, identity: slot)
            }
        } catch {
            // Its processes may live on for an instant: the identity waits out the fork's cgroup.
            server.returnIdentity(slot)
            return .fellBack(reason: error.description)
        }
        // The identity is free again once the fork's jail is gone (its processes killed, cgroup removed).
        forked.onRelease { server.returnIdentity(slot) }
        started?(JailHandle(forked, warm: true, forked: true))
        startedCount.withLock { $0 += 1 }
        var supervisor = RunSupervisor(stub: forked, spec: SpecEncoder(), limits: run.limits, stdin: run.stdin,
                                       appliedLimits: run.limits)
        supervisor.forked = true
        supervisor.cpuBaselineNanoseconds = cpuBaseline
        supervisor.onOutput = run.onOutput
        let (result, programStarted) = await supervise(supervisor, threadName: "corral-fork-\(forked.pid)")
        guard programStarted else {
            return .fellBack(reason: result.errorMessage ?? "the forked run failed before its program started (\(result.status.rawValue))")
        }
        var final = result
        if !degradations.isEmpty { final.degraded = degradations }
        return .ran(final)
    }

    /// Forks one zygote runs at once. Each fork's per-user kernel counts are its identity's, but they
    /// are charged again, up the namespace chain, to the zygote's own host id: forks × the per-jail
    /// inotify cap (32) must stay within the host's per-user limit, or one fork could leave another
    /// without. More forks at once take more zygotes (`ForkServers`).
    public static let forksPerZygote: Int = {
        let hostLimit = Posix.readFile("/proc/sys/fs/inotify/max_user_instances").flatMap { Int($0.trimmingWhitespace) } ?? 128
        let perJail = KernelAccounts.userNamespaceCaps.first { $0.name == "max_inotify_instances" }?.value ?? 32
        let hostWatches = Posix.readFile("/proc/sys/fs/inotify/max_user_watches").flatMap { Int($0.trimmingWhitespace) } ?? 8192
        let watchesPerJail = KernelAccounts.userNamespaceCaps.first { $0.name == "max_inotify_watches" }?.value ?? 8192
        return max(1, min(8, hostLimit / max(1, perJail), hostWatches / max(1, watchesPerJail)))
    }()

    /// Asks the zygote for a fork jailed for `run` and waits (≤ 5 s) for the fork's init to report
    /// with its pidfd. Blocking: runs on a thread of its own. Also returns the CPU the run's group had
    /// used before the run (its parked jail's making), which is not the run's.
    private func fork(_ run: WarmRun, from server: ForkServer, identity slot: Int) throws(SandboxError) -> (JailStub, UInt64) {
        let number = server.runs.add(1, ordering: .relaxed).newValue
        // The jail parked in this identity's next cgroup takes the run; else a middle joins a new group and makes it now.
        let parked = server.takeParked(slot)
        let cgroup: JailCgroup
        if let parked { cgroup = parked.cgroup } else {
            cgroup = try JailCgroup.create(in: cgroups, name: "\(getpid())-fork-\(ServiceSpawner.nextNumber())")
        }
        var owned: [Int32] = []
        var handedOver = false
        // The parked init's socket: once the run is sent (or not), the init needs it no more (it
        // reads EOF and leaves when the run was not sent).
        defer { if let parked { close(parked.socket) } }
        defer {
            if !handedOver {
                owned.forEach { close($0) }
                cgroup.killAll()
                cgroup.remove()
            }
        }
        // A parked jail's group holds the template's limits: only what differs is written.
        try cgroup.apply(run.limits, replacing: parked == nil ? nil : server.parkedLimits)
        // What making the parked jail used is not the run's: its peak memory starts afresh (v1; on
        // v2 the peak cannot be reset and includes it), its CPU is counted from here.
        if parked != nil { cgroup.resetPeakMemory() }
        var procs: [Int32] = []
        defer { procs.forEach { close($0) } }
        for dir in Set(cgroup.directories.values).sorted() where parked == nil {
            let fd = open(dir + "/cgroup.procs", O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { throw .system(call: "open", errno: errno, context: dir + "/cgroup.procs") }
            procs.append(fd)
        }
        let stdin = try Posix.pipe(nonBlockingWrite: true)
        owned += [stdin.0, stdin.1]
        let stdout = try Posix.pipe(nonBlockingRead: true)
        owned += [stdout.0, stdout.1]
        let stderr = try Posix.pipe(nonBlockingRead: true)
        owned += [stderr.0, stderr.1]
        let status = try Posix.socketPair(type: Int32(SOCK_SEQPACKET.rawValue))
        owned += [status.0, status.1]
        // As a cold jail's: the program (another uid) may reopen its stdio through /dev/stdin.
        for fd in [stdin.0, stdout.1, stderr.1] { fchmod(fd, 0o666) }

        let layout = JailLayout(stagingRoot: configuration.stagingRoot, programID: JailIdentity.programID, seccompProgram: seccompProgram)
        try JailLayout.validate(JailSpec(arguments: run.arguments.isEmpty ? [""] : run.arguments, environment: run.environment, files: run.files))
        var payload: [UInt8] = []
        var files: [ZygoteRequest.File] = []
        for file in run.files {
            files.append(.init(path: file.path, size: file.contents.count, mode: file.executable ? 0o755 : 0o644))
            payload += file.contents
        }
        let request = ZygoteRequest(
            argv: run.arguments, env: run.environment.map { [$0.key, $0.value] }, files: files,
            tmp_mb: run.limits.tmpMB, workspace_mb: run.limits.workspaceMB, writable: run.writableWorkspace,
            rlimits: layout.rlimits(run.limits).map { [UInt64($0.resource), $0.soft, $0.hard] }, cwd: JailSpec.workspacePath)
        // The run's bytes go in a memfd only the fork reads: the zygote never holds them.
        let memfd = corral_memfd_create_cloexec("corral-fork-run")
        guard memfd >= 0 else { throw .system(call: "memfd_create", errno: errno, context: "a fork's request") }
        owned.append(memfd)
        guard Posix.writeAll(memfd, try ForkServer.frame(request, payload: payload)) else {
            throw .system(call: "write", errno: errno, context: "a fork's request")
        }
        let control = try ForkServer.frame(ZygoteRun(setup: ZygoteJailSetup(slot: slot, limits: server.parkedLimits)))
        let runFDs = [stdin.0, stdout.1, stderr.1, status.0, memfd]
        // A parked jail's run counts its CPU from here (what making the jail used is not the run's);
        // one made on the run's path, once it is placed (below). Its init and program leave out
        // what they spend on the run's set-up after it (STARTED's init_cpu_us).
        var cpuBaseline = parked == nil ? 0 : cgroup.cpuNanoseconds() ?? 0
        if let parked {
            // Straight to the parked jail's init (neither the zygote nor a middle is on a parked run's path).
            guard ForkServer.send(control, fds: runFDs, on: parked.socket) else {
                throw .invalidRequest("the fork-server's parked jail did not take the run (it is gone)")
            }
        } else if !server.send(control, fds: runFDs + procs) {
            server.markBroken()
            throw .invalidRequest("the fork-server's zygote did not take the run's request (it is replaced)")
        }
        for fd in [stdin.0, stdout.1, stderr.1, status.0, memfd] { close(fd) }
        owned = [stdin.1, stdout.0, stderr.0, status.1]

        // The fork's init reports with its pidfd, or a setup error; nothing else comes first.
        var p = pollfd(fd: status.1, events: Int16(POLLIN), revents: 0)
        var waited = 0
        while poll(&p, 1, 5000) < 0 && errno == EINTR && waited < 5 { waited += 1 }
        guard p.revents != 0 else {
            server.markBroken()
            throw .invalidRequest("the fork-server's fork did not report within 5 s (the zygote is replaced)")
        }
        var message_ = corral_status()
        var pidfd: Int32 = -1
        let n = withUnsafeMutableBytes(of: &message_) { corral_recv_with_fd(status.1, $0.baseAddress, UInt($0.count), &pidfd) }
        if pidfd >= 0 { owned.append(pidfd) }
        guard n == MemoryLayout<corral_status>.size else {
            throw .invalidRequest("the fork-server's fork ended before it was jailed")
        }
        guard message_.kind == ZygoteProgram.forkedStatusKind, pidfd >= 0 else {
            if Int(message_.kind) == Int(CORRAL_STATUS_SETUP_ERROR.rawValue) {
                throw SandboxError.setup(step: "jailing a fork (step \(message_.step))", errno: message_.error)
            }
            throw .invalidRequest("the fork-server's fork sent an unexpected first message (kind \(message_.kind))")
        }
        guard let pid = Self.pid(ofPidfd: pidfd) else {
            // Its init is gone already: a set-up step after its report failed, and says which.
            var failure = corral_status()
            var q = pollfd(fd: status.1, events: Int16(POLLIN), revents: 0)
            if poll(&q, 1, 200) > 0,
               withUnsafeMutableBytes(of: &failure, { read(status.1, $0.baseAddress, $0.count) }) == MemoryLayout<corral_status>.size,
               Int(failure.kind) == Int(CORRAL_STATUS_SETUP_ERROR.rawValue) {
                throw SandboxError.setup(step: "jailing a fork (step \(failure.step))", errno: failure.error)
            }
            throw .invalidRequest("the fork's init ended before it could be supervised")
        }
        // A jail's middle leaves once the jail is made (a parked one's long before its run), but the
        // kernel counts it until it is reaped: the run's pids limit must see only the init and the
        // program when the program starts.
        let settled = Posix.monotonicNanoseconds() + 1_000_000_000
        while let count = cgroup.processCount(), count > 2 {
            guard Posix.monotonicNanoseconds() < settled else {
                throw .invalidRequest("the fork's cgroup still counted \(count) processes 1 s after its middle left")
            }
            usleep(50)
        }
        if parked == nil {
            try Self.awaitPlaced(status.1)
            cpuBaseline = cgroup.cpuNanoseconds() ?? 0
        }
        // The init waits for this before its program may run (and end, and take the init with it).
        var go: UInt8 = UInt8(ascii: "a")
        guard Glibc.send(status.1, &go, 1, Int32(MSG_NOSIGNAL)) == 1 else {
            throw .system(call: "send", errno: errno, context: "the go-ahead to a fork's init")
        }
        _ = fcntl(status.1, F_SETFL, O_NONBLOCK)
        handedOver = true
        return (JailStub.forked(pid: pid, pidfd: pidfd, cgroup: cgroup, stdinWrite: stdin.1, stdoutRead: stdout.0,
                                stderrRead: stderr.0, statusRead: status.1), cpuBaseline)
    }

    /// Waits (≤ 5 s) for a fork made on its run's path to report its run placed (its middle has
    /// left by then): the CPU its cgroup counted so far was the jail's making, not the run's.
    private static func awaitPlaced(_ status: Int32) throws(SandboxError) {
        var p = pollfd(fd: status, events: Int16(POLLIN), revents: 0)
        var ready: Int32 = -1
        for _ in 0..<5 {
            ready = poll(&p, 1, 5000)
            if ready >= 0 || errno != EINTR { break }
        }
        guard ready > 0 else { throw .invalidRequest("the fork's init did not place its run within 5 s") }
        var message = corral_status()
        guard withUnsafeMutableBytes(of: &message, { read(status, $0.baseAddress, $0.count) }) == MemoryLayout<corral_status>.size else {
            throw .invalidRequest("the fork's init ended before its run was placed")
        }
        if Int(message.kind) == Int(CORRAL_STATUS_SETUP_ERROR.rawValue) {
            throw SandboxError.setup(step: "placing a fork's run (step \(message.step))", errno: message.error)
        }
        guard message.kind == ZygoteProgram.placedStatusKind else {
            throw .invalidRequest("the fork's init sent an unexpected message while placing its run (kind \(message.kind))")
        }
    }

    /// The host pid a pidfd refers to (`Pid:` of its fdinfo), nil when the process is gone.
    static func pid(ofPidfd fd: Int32) -> pid_t? {
        guard let text = Posix.readFile("/proc/self/fdinfo/\(fd)") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("Pid:") {
            guard let pid = pid_t(line.dropFirst(4).trimmingCharacters(in: .whitespaces)), pid > 0 else { return nil }
            return pid
        }
        return nil
    }

    /// What a non-blocking pipe holds now, as text (a failed zygote's last words), bounded.
    static func pendingText(_ fd: Int32) -> String {
        var chunk = [UInt8](repeating: 0, count: 4096)
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return "" }
        return String(decoding: chunk[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

private extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
