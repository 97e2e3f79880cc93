import Glibc

extension SessionJail {
    /// A TCP connection to `127.0.0.1:port` inside the session's own network namespace (a desktop's
    /// VNC server, a Jupyter server): what the session listens on never becomes a host port, and
    /// the host reaches it only through Corral. The socket is made on a thread started for this
    /// alone, which enters the namespace (`setns` moves only the calling thread) and exits; the
    /// socket stays in that namespace for its whole life. Returns a connected, non-blocking,
    /// close-on-exec descriptor the caller owns.
    ///
    /// What answers is the session's own code (the same uid as the servers it started): the bytes are
    /// hostile input, but the connection reaches nothing outside the session.
    public func connectLoopback(port: UInt16) throws(SandboxError) -> Int32 {
        guard endReason == nil else { throw .invalidRequest("the session's jail has ended") }
        let path = "/proc/\(pid)/ns/net"
        let namespaceFD = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard namespaceFD >= 0 else { throw .system(call: "open", errno: errno, context: path) }
        defer { close(namespaceFD) }
        // The jail's init holds the pid while the jail lives: had it ended between the check above and
        // the open, the pid might name another process's namespace. Checked again once it is open.
        guard endReason == nil else { throw .invalidRequest("the session's jail has ended") }
        let request = LoopbackConnectRequest(namespaceFD: namespaceFD, port: port)
        let context = Unmanaged.passRetained(request).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            Unmanaged<LoopbackConnectRequest>.fromOpaque(raw).takeRetainedValue().run()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<LoopbackConnectRequest>.fromOpaque(context).release()
            throw .system(call: "pthread_create", errno: rc, context: "a thread to enter the session's network namespace")
        }
        pthread_join(thread, nil)
        if let failure = request.failure {
            throw .system(call: failure.call, errno: failure.errno, context: "127.0.0.1:\(port) in the session's network namespace")
        }
        return request.socketFD
    }
}

/// What the namespace thread is given and hands back.
private final class LoopbackConnectRequest: @unchecked Sendable {
    let namespaceFD: Int32
    let port: UInt16
    var socketFD: Int32 = -1
    var failure: (call: String, errno: Int32)?

    init(namespaceFD: Int32, port: UInt16) { self.namespaceFD = namespaceFD; self.port = port }

    /// Longest a connect waits. A loopback connect is answered at once (accepted into the backlog,
    /// or refused) unless the session's code listens with a full backlog: the kernel then drops the
    /// SYN and a blocking connect waits out its retries (about 127 s) on the caller's thread.
    static let connectTimeoutMs: Int32 = 3000

    /// Runs on the dedicated thread, which exits right after. The socket is non-blocking from the
    /// start (the event loop that takes it wants it so); the connect is waited for at most
    /// `connectTimeoutMs`.
    func run() {
        // setns(2) is not exported by the Glibc module (it needs _GNU_SOURCE); glibc has had it since 2.14.
        typealias SetNamespace = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(nil, "setns") else {
            failure = ("dlsym(setns)", ENOSYS)
            return
        }
        let setNamespace = unsafeBitCast(symbol, to: SetNamespace.self)
        let cloneNewNet: Int32 = 0x4000_0000
        guard setNamespace(namespaceFD, cloneNewNet) == 0 else {
            failure = ("setns", errno)
            return
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else {
            failure = ("socket(AF_INET)", errno)
            return
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if connected != 0 {
            guard errno == EINPROGRESS else {
                failure = ("connect", errno)
                close(fd)
                return
            }
            var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            var ready: Int32
            repeat { ready = poll(&entry, 1, Self.connectTimeoutMs) } while ready < 0 && errno == EINTR
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            if ready == 0 {
                error = ETIMEDOUT
            } else if ready < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 {
                error = errno
            }
            guard error == 0 else {
                failure = (ready == 0 ? "connect (no answer within \(Self.connectTimeoutMs / 1000) s)" : "connect", error)
                close(fd)
                return
            }
        }
        socketFD = fd
    }
}
