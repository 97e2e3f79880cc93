import Glibc

/// Outbound network for one jail through slirp4netns, a user-mode TCP/IP
/// stack: the jail gets `tap0` (10.0.2.100, gateway 10.0.2.2, DNS 10.0.2.3).
/// `--disable-host-loopback` keeps the host's 127.0.0.1 (the service, its
/// databases and brokers) out of reach.
struct SlirpNetwork {
    let pid: pid_t

    static var executable: String? {
        ["/usr/bin/slirp4netns", "/usr/local/bin/slirp4netns"].first { access($0, X_OK) == 0 }
    }

    /// Starts slirp4netns on the jail's network namespace and waits until tap0 is configured.
    static func start(jailPID: pid_t, timeoutMs: Int32 = 5000) throws(SandboxError) -> SlirpNetwork {
        guard let exe = executable else {
            throw .invalidRequest("network access needs slirp4netns: install it (apt-get install slirp4netns) or run scripts/bootstrap")
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
        let args = [exe, "--configure", "--mtu=65520", "--disable-host-loopback", "--ready-fd=3", String(jailPID), "tap0"]
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var env: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/bin:/bin"), nil]
        defer { env.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, exe, &actions, nil, &argv, &env)
        close(ready.1)
        guard rc == 0 else { throw .system(call: "posix_spawn", errno: rc, context: exe) }
        let network = SlirpNetwork(pid: pid)
        var p = pollfd(fd: ready.0, events: Int16(POLLIN), revents: 0)
        var byte: UInt8 = 0
        if poll(&p, 1, timeoutMs) != 1 || read(ready.0, &byte, 1) != 1 {
            network.stop()
            throw .system(call: "slirp4netns", errno: ETIMEDOUT, context: "setting up the jail's network")
        }
        return network
    }

    func stop() {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }
}
