import CorralSandbox
import CorralTestSupport
import Foundation
import Glibc
import Testing

/// SECURITY.md abuse case 16 and measure 12: a program must not reach the host's loopback
/// (where the service, its database and brokers listen), with or without network access,
/// nor the host's abstract Unix sockets (bound in the host's network namespace).
@Suite(.enabled(if: TestSupport.jailsAvailable))
struct AbuseNetworkTests {
    /// The attack: TCP to the host's loopback listener directly and through slirp's host alias
    /// 10.0.2.2, to an outside address, to the host's own address, and to an abstract socket.
    private static func attack(port: UInt16, controlHost: String, controlPort: UInt16, abstractName: String,
                               outside: Bool = true) -> String {
        #"""
        def tcp(host, port):
            s = socket.socket()
            s.settimeout(5)
            s.connect((host, port))
            s.close()
        attempt("loopback", lambda: tcp("127.0.0.1", \#(port)))
        attempt("host_alias", lambda: tcp("10.0.2.2", \#(port)))
        if \#(outside ? "True" : "False"):
            attempt("outside", lambda: tcp("198.51.100.1", 80))
        attempt("control", lambda: tcp("\#(controlHost)", \#(controlPort)))
        def unix():
            s = socket.socket(socket.AF_UNIX)
            s.connect("\0\#(abstractName)")
        attempt("abstract", unix)
        """#
    }

    @Test func noNetworkReachesNothingOfTheHost() async throws {
        let service = try HostListener(tcp: "127.0.0.1")
        let broker = try HostListener(abstract: "corral-abuse-" + UUID().uuidString)
        let control = try HostListener(tcp: "0.0.0.0")
        let hostAddress = HostListener.firstExternalIPv4() ?? "192.0.2.1"
        // Unsandboxed, the same connects reach the listeners.
        let (status, output) = TestSupport.hostShell("""
        /usr/bin/python3 -c 'import socket; socket.create_connection(("127.0.0.1", \(service.port))); s = socket.socket(socket.AF_UNIX); s.connect("\\0\(broker.name)"); print("reached")'
        """)
        #expect(status == 0 && output == "reached\n", "\(output)")
        #expect(service.acceptAll() == 1)
        #expect(broker.acceptAll() == 1)

        let (result, fields) = await Abuse.python(Self.attack(port: service.port, controlHost: hostAddress,
                                                              controlPort: control.port, abstractName: broker.name))
        #expect(result.status == .success, "\(result)")
        #expect(fields == [
            "loopback": "ECONNREFUSED", // the jail's own loopback, where nothing listens
            "host_alias": "ENETUNREACH", "outside": "ENETUNREACH", "control": "ENETUNREACH",
            "abstract": "ECONNREFUSED",
        ])
        #expect(service.acceptAll() == 0)
        #expect(broker.acceptAll() == 0)
        #expect(control.acceptAll() == 0)
        await Abuse.expectHealthy()
    }

    /// With `network: true` (slirp4netns, `--disable-host-loopback`), outbound traffic leaves through
    /// the host, but 10.0.2.2 does not lead to the host's 127.0.0.1.
    @Test func networkAccessDoesNotReachTheHostsLoopback() async throws {
        let service = try HostListener(tcp: "127.0.0.1")
        let broker = try HostListener(abstract: "corral-abuse-" + UUID().uuidString)
        let control = try HostListener(tcp: "0.0.0.0")
        let hostAddress = HostListener.firstExternalIPv4()

        let (result, fields) = await Abuse.python(Self.attack(port: service.port, controlHost: hostAddress ?? "192.0.2.1",
                                                              controlPort: control.port, abstractName: broker.name,
                                                              outside: false),
                                                  network: true)
        #expect(result.status == .success, "\(result)")
        #expect(fields["loopback"] == "ECONNREFUSED")
        #expect(fields["host_alias"] == "ENETUNREACH")
        #expect(fields["abstract"] == "ECONNREFUSED")
        #expect(service.acceptAll() == 0, "a networked jail reached a listener on the host's 127.0.0.1")
        #expect(broker.acceptAll() == 0)
        if hostAddress != nil {
            // The control: the network works, and reaches the host itself (so the refusals above are the
            // loopback's protection, not a dead network). Services bound to 0.0.0.0 are reachable this way.
            #expect(fields["control"] == "ok")
            #expect(control.acceptAll() == 1)
        }
        await Abuse.expectHealthy()
    }
}

/// A listening socket on the host, non-blocking, that counts the connections it received.
final class HostListener {
    let fd: Int32
    private(set) var port: UInt16 = 0
    private(set) var name = ""

    init(tcp address: String) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        inet_pton(AF_INET, address, &addr.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound, listen(fd, 16) == 0 else { close(fd); throw POSIXError(.EADDRINUSE) }
        port = UInt16(bigEndian: addr.sin_port)
    }

    /// An abstract Unix socket (`@name`), which only the host's network namespace can reach.
    init(abstract name: String) throws {
        self.name = name
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(name.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { path in
            path[0] = 0
            for (i, b) in bytes.prefix(path.count - 1).enumerated() { path[i + 1] = b }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + 1 + bytes.count)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0, listen(fd, 16) == 0 else { close(fd); throw POSIXError(.EADDRINUSE) }
    }

    deinit { close(fd) }

    /// Accepts (and closes) every pending connection; returns how many there were.
    func acceptAll() -> Int {
        var count = 0
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 { return count }
            close(client)
            count += 1
        }
    }

    /// The host's first IPv4 address that is not loopback, if it has one.
    static func firstExternalIPv4() -> String? {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return nil }
        defer { freeifaddrs(list) }
        var cursor = list
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let addr = entry.pointee.ifa_addr, addr.pointee.sa_family == sa_family_t(AF_INET),
                  entry.pointee.ifa_flags & UInt32(IFF_LOOPBACK) == 0, entry.pointee.ifa_flags & UInt32(IFF_UP) != 0 else { continue }
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { inet_ntop(AF_INET, &$0.pointee.sin_addr, &text, socklen_t(text.count)) }
            return String(cString: text)
        }
        return nil
    }
}
