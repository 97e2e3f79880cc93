import Glibc

/// A NETLINK_ROUTE socket bound to another process's network namespace: the route changes
/// that fence a networked jail in are made through it before the jail's program starts.
/// Netlink rather than `nsenter ip`: one sendmsg, an exact errno per change, no helper binary.
struct RouteNetlink: ~Copyable {
    /// One route change; each is acknowledged on its own.
    enum Change: Equatable, CustomStringConvertible {
        /// `unreachable PREFIX scope link` in the main table: connect/sendto fail with EHOSTUNREACH.
        /// Scope link (not universe) so that lookups with SO_DONTROUTE, which skip universe routes, see it too.
        case unreachable(IPv4Prefix)
        /// Removes a `broadcast ADDRESS` route of the local table, if there is one.
        case removeLocalBroadcast(UInt32)

        var description: String {
            switch self {
            case .unreachable(let prefix): "unreachable \(prefix)"
            case .removeLocalBroadcast(let address): "delete broadcast \(IPv4Prefix(address, 32)) table local"
            }
        }

        var message: String {
            switch self {
            case .unreachable: "RTM_NEWROUTE"
            case .removeLocalBroadcast: "RTM_DELROUTE"
            }
        }
    }

    private let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    /// Opens the socket inside the network namespace of `pid`. `setns` moves only the calling
    /// thread, so a thread started for this alone enters the namespace, creates the socket (which
    /// belongs to that namespace for its whole life) and exits: no shared thread changes namespace.
    static func open(inNetworkNamespaceOf pid: pid_t) throws(SandboxError) -> RouteNetlink {
        let path = "/proc/\(pid)/ns/net"
        let namespaceFD = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard namespaceFD >= 0 else { throw .system(call: "open", errno: errno, context: path) }
        defer { close(namespaceFD) }
        let request = NamespaceSocketRequest(namespaceFD: namespaceFD)
        let context = Unmanaged.passRetained(request).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            Unmanaged<NamespaceSocketRequest>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<NamespaceSocketRequest>.fromOpaque(context).release()
            throw .system(call: "pthread_create", errno: rc, context: "a thread to enter the jail's network namespace")
        }
        pthread_join(thread, nil)
        if let failure = request.failure {
            throw .system(call: failure.call, errno: failure.errno, context: "a netlink socket in the network namespace of \(pid)")
        }
        return RouteNetlink(fd: request.socketFD)
    }

    /// Applies `changes` in one batch and waits for every acknowledgement. A removal of a route
    /// that is not there is fine; any other refusal throws, naming the change.
    func apply(_ changes: [Change], timeoutMs: Int = 2000) throws(SandboxError) {
        guard !changes.isEmpty else { return }
        var batch: [UInt8] = []
        for (index, change) in changes.enumerated() {
            Self.append(change, sequence: UInt32(index + 1), to: &batch)
        }
        var timeout = timeval(tv_sec: timeoutMs / 1000, tv_usec: (timeoutMs % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let sent = batch.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard sent == batch.count else {
            throw .system(call: "send", errno: sent < 0 ? errno : EIO, context: "route changes over netlink")
        }
        var pending = Set(1 ... UInt32(changes.count))
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !pending.isEmpty {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw .system(call: "recv", errno: n < 0 ? errno : EIO, context: "netlink acknowledgements of route changes")
            }
            for (sequence, error) in Self.acknowledgements(in: buffer[0 ..< n]) where pending.remove(sequence) != nil {
                guard error != 0 else { continue }
                let change = changes[Int(sequence) - 1]
                if case .removeLocalBroadcast = change, error == -ESRCH { continue }
                throw .system(call: change.message, errno: -error, context: "\(change) in the jail's network namespace")
            }
        }
    }

    // Constants of linux/netlink.h and linux/rtnetlink.h (not exported by the Glibc module).
    private static let rtmNewRoute: UInt16 = 24, rtmDelRoute: UInt16 = 25, nlmsgError: UInt16 = 2
    private static let flagRequest: UInt16 = 0x1, flagAck: UInt16 = 0x4, flagExclusive: UInt16 = 0x200, flagCreate: UInt16 = 0x400
    private static let tableMain: UInt8 = 254, tableLocal: UInt8 = 255
    private static let protocolStatic: UInt8 = 4, scopeLink: UInt8 = 253, scopeNowhere: UInt8 = 255
    private static let typeBroadcast: UInt8 = 3, typeUnreachable: UInt8 = 7
    private static let attributeDestination: UInt16 = 1

    /// nlmsghdr (16 bytes, host order) + rtmsg (12 bytes) + one RTA_DST attribute (8 bytes).
    private static func append(_ change: Change, sequence: UInt32, to batch: inout [UInt8]) {
        let type: UInt16, flags: UInt16, destination: IPv4Prefix
        let table: UInt8, proto: UInt8, scope: UInt8, routeType: UInt8
        switch change {
        case .unreachable(let prefix):
            (type, flags, destination) = (rtmNewRoute, flagRequest | flagAck | flagCreate | flagExclusive, prefix)
            (table, proto, scope, routeType) = (tableMain, protocolStatic, scopeLink, typeUnreachable)
        case .removeLocalBroadcast(let address):
            (type, flags, destination) = (rtmDelRoute, flagRequest | flagAck, IPv4Prefix(address, 32))
            (table, proto, scope, routeType) = (tableLocal, 0, scopeNowhere, typeBroadcast)
        }
        func put<T>(_ value: T) { withUnsafeBytes(of: value) { batch.append(contentsOf: $0) } }
        put(UInt32(16 + 12 + 8))
        put(type)
        put(flags)
        put(sequence)
        put(UInt32(0)) // port id: the kernel fills in ours
        batch += [UInt8(AF_INET), destination.length, 0, 0, table, proto, scope, routeType]
        put(UInt32(0)) // rtm_flags
        put(UInt16(8))
        put(attributeDestination)
        batch += destination.networkBytes
    }

    /// (sequence, error) of each NLMSG_ERROR message in a datagram; error is 0 or -errno.
    private static func acknowledgements(in datagram: ArraySlice<UInt8>) -> [(UInt32, Int32)] {
        var result: [(UInt32, Int32)] = []
        datagram.withUnsafeBytes { bytes in
            var offset = 0
            while offset + 16 <= bytes.count {
                let length = Int(bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
                guard length >= 16, offset + length <= bytes.count else { break }
                let type = bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self)
                let sequence = bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self)
                if type == nlmsgError, length >= 20 {
                    result.append((sequence, bytes.loadUnaligned(fromByteOffset: offset + 16, as: Int32.self)))
                }
                offset += (length + 3) & ~3
            }
        }
        return result
    }
}

/// What the namespace thread is given and hands back.
private final class NamespaceSocketRequest: @unchecked Sendable {
    let namespaceFD: Int32
    var socketFD: Int32 = -1
    var failure: (call: String, errno: Int32)?

    init(namespaceFD: Int32) { self.namespaceFD = namespaceFD }

    /// Runs on the dedicated thread, which exits right after.
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
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0 /* NETLINK_ROUTE */)
        guard fd >= 0 else {
            failure = ("socket(AF_NETLINK)", errno)
            return
        }
        socketFD = fd
    }
}
