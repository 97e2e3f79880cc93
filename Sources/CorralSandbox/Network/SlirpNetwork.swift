import Glibc

/// Outbound network for one jail through slirp4netns, a user-mode TCP/IP
/// stack: the jail gets `tap0` (10.0.2.100, gateway 10.0.2.2, DNS 10.0.2.3).
/// `--disable-host-loopback` keeps the host's 127.0.0.1 (the service, its
/// databases and brokers) out of reach; `JailNetworkFence` then makes the host's
/// other addresses and the private, link-local and special ranges unreachable.
/// slirp4netns runs as host root (it must join the jail's namespaces to create tap0),
/// so it confines itself once tap0 is set up: `--enable-sandbox` (its own mount namespace
/// on an empty read-only root with /etc and /run read-only, every capability dropped but
/// CAP_NET_BIND_SERVICE, no_new_privs) and `--enable-seccomp`; both are in place before it
/// reports ready, so before the jail's first packet. See docs/network.md.
///
/// It starts under `unshare --mount --propagation slave`. Its sandbox makes only `/` private,
/// then detaches the old root. Under a shared mount such as /run/corral/scratch, that detach
/// would propagate back and unmount the other runs' scratch tmpfs on the host.
struct SlirpNetwork {
    let pid: pid_t

    static var executable: String? {
        ["/usr/bin/slirp4netns", "/usr/local/bin/slirp4netns"].first { access($0, X_OK) == 0 }
    }

    /// util-linux's unshare, which gives slirp4netns a mount namespace where every mount is a slave.
    static var unshareExecutable: String? {
        ["/usr/bin/unshare", "/bin/unshare"].first { access($0, X_OK) == 0 }
    }

    static let arguments = ["--configure", "--mtu=65520", "--disable-host-loopback", "--enable-sandbox", "--enable-seccomp", "--ready-fd=3"]

    /// Starts slirp4netns on the jail's network namespace, waits until tap0 is configured, and
    /// fences the namespace in. Any failure stops slirp4netns and throws: the jail never runs
    /// with a network it could use to reach the host.
    static func start(jailPID: pid_t, timeoutMs: Int32 = 5000) throws(SandboxError) -> SlirpNetwork {
        guard let exe = executable else {
            throw .invalidRequest("network access needs slirp4netns: install it (apt-get install slirp4netns) or run scripts/bootstrap")
        }
        guard let unshare = unshareExecutable else {
            throw .system(call: "access", errno: ENOENT, context: "unshare (util-linux), needed to start slirp4netns")
        }
        let ready = try Posix.pipe()
        defer { close(ready.0) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, ready.1, 3)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        closeInheritedDescriptors(from: 4, in: &actions)
        // unshare execs slirp4netns in place (no --fork): the pid is slirp4netns's, fd 3 passes through.
        let args = [unshare, "--mount", "--propagation", "slave", "--", exe] + arguments + [String(jailPID), "tap0"]
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var env: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/bin:/bin"), nil]
        defer { env.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, unshare, &actions, nil, &argv, &env)
        close(ready.1)
        guard rc == 0 else { throw .system(call: "posix_spawn", errno: rc, context: unshare) }
        let network = SlirpNetwork(pid: pid)
        var p = pollfd(fd: ready.0, events: Int16(POLLIN), revents: 0)
        var byte: UInt8 = 0
        var polled: Int32
        repeat { polled = poll(&p, 1, timeoutMs) } while polled < 0 && errno == EINTR
        if polled != 1 || read(ready.0, &byte, 1) != 1 {
            let ended = network.stop()
            if polled == 1 {
                // The ready pipe closed without a byte: slirp4netns exited, on a bad option (--enable-sandbox
                // and --enable-seccomp need slirp4netns 0.4 or later) or a namespace it could not join.
                throw .system(call: "slirp4netns", errno: ECHILD, context: "setting up the jail's network (\(ended): `\(args.joined(separator: " "))`)")
            }
            throw .system(call: "slirp4netns", errno: ETIMEDOUT, context: "setting up the jail's network")
        }
        do throws(SandboxError) {
            try JailNetworkFence.install(jailPID: jailPID)
        } catch {
            network.stop()
            throw error
        }
        return network
    }

    /// posix_spawn keeps every descriptor that is not close-on-exec, and not all of the service's
    /// are (Foundation opens files without O_CLOEXEC). slirp4netns runs as root for the whole run
    /// and parses the jail's packets, so it must not hold the service's files and sockets. It would
    /// also keep a file open for writing, so a concurrent exec of that file fails with ETXTBSY.
    private static func closeInheritedDescriptors(from lowest: Int32, in actions: inout posix_spawn_file_actions_t) {
        // posix_spawn_file_actions_addclosefrom_np (glibc 2.34) closes them all in the child, atomically;
        // the Glibc module does not export it.
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
        if let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np"),
           unsafeBitCast(symbol, to: CloseFrom.self)(&actions, lowest) == 0 {
            return
        }
        // Older glibc: those open now (a descriptor opened meanwhile by another thread may slip through).
        guard let directory = opendir("/proc/self/fd") else { return }
        defer { closedir(directory) }
        let own = dirfd(directory)
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let fd = Int32(name), fd >= lowest, fd != own { posix_spawn_file_actions_addclose(&actions, fd) }
        }
    }

    /// Kills and reaps slirp4netns; returns how it ended (its own exit status if it had exited already).
    @discardableResult
    func stop() -> String {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code = (status >> 8) & 0xff, signal = status & 0x7f
        return signal == 0 ? "exit status \(code)" : "signal \(signal)"
    }
}
