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

    /// With `network: true` (slirp4netns, `--disable-host-loopback`, then the routes of
    /// `JailNetworkFence`), 10.0.2.2 does not lead to the host's 127.0.0.1, and the host's own
    /// non-loopback address is unreachable too: a service bound to 0.0.0.0 is not exposed.
    @Test func networkAccessReachesNothingOfTheHost() async throws {
        let service = try HostListener(tcp: "127.0.0.1")
        let broker = try HostListener(abstract: "corral-abuse-" + UUID().uuidString)
        let control = try HostListener(tcp: "0.0.0.0")
        let hostAddress = HostListener.firstExternalIPv4()
        if let hostAddress {
            // Unsandboxed, the host's address leads to the listener: what the jail must not do.
            let (status, output) = TestSupport.hostShell(Self.hostConnect(hostAddress, control.port))
            #expect(status == 0 && output == "reached\n", "\(output)")
            #expect(control.acceptAll() == 1)
        }

        let (result, fields) = await Abuse.python(Self.attack(port: service.port, controlHost: hostAddress ?? "192.0.2.1",
                                                              controlPort: control.port, abstractName: broker.name,
                                                              outside: false),
                                                  network: true)
        #expect(result.status == .success, "\(result)")
        #expect(fields == [
            "loopback": "ECONNREFUSED", // the jail's own loopback, where nothing listens
            "host_alias": "EHOSTUNREACH", "control": "EHOSTUNREACH", "abstract": "ECONNREFUSED",
        ])
        #expect(service.acceptAll() == 0, "a networked jail reached a listener on the host's 127.0.0.1")
        #expect(broker.acceptAll() == 0)
        #expect(control.acceptAll() == 0, "a networked jail reached a listener on the host's own address")
        await Abuse.expectHealthy()
    }

    /// Private, link-local (cloud metadata), CGNAT, documentation, benchmarking, multicast and reserved
    /// ranges, slirp's own subnet but its DNS forwarder, and the tricks that sidestep a plain route
    /// lookup (SO_DONTROUTE, the subnet broadcast in the local table, IPv4-mapped IPv6) all fail at once.
    @Test func networkAccessReachesNoPrivateOrSpecialRange() async throws {
        let hostAddress = HostListener.firstExternalIPv4() ?? "192.0.2.1"
        let targets = [
            ("gateway", "10.0.2.2"), ("slirp_subnet", "10.0.2.15"), ("metadata", "169.254.169.254"),
            ("private_10", "10.1.2.3"), ("private_172", "172.16.0.1"), ("private_192", "192.168.1.1"),
            ("cgnat", "100.64.0.1"), ("documentation", "203.0.113.1"), ("benchmarking", "198.18.0.1"),
            ("multicast", "224.0.0.1"), ("reserved", "240.0.0.1"),
        ]
        let (result, fields) = await Abuse.python(#"""
        def tcp(host, port, family=socket.AF_INET, dontroute=False):
            s = socket.socket(family)
            s.settimeout(5)
            if dontroute:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_DONTROUTE, 1)
            s.connect((host, port))
        def udp(host, port, broadcast=False):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            if broadcast:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            s.sendto(b"x", (host, port))
        for name, host in [\#(targets.map { "(\"\($0.0)\", \"\($0.1)\")" }.joined(separator: ", "))]:
            attempt(name, lambda host=host: tcp(host, 80))
        attempt("metadata_udp", lambda: udp("169.254.169.254", 53))
        attempt("subnet_broadcast", lambda: udp("10.0.2.255", 9, broadcast=True))
        attempt("limited_broadcast", lambda: udp("255.255.255.255", 9, broadcast=True))
        attempt("dontroute_gateway", lambda: tcp("10.0.2.2", 80, dontroute=True))
        attempt("mapped_host", lambda: tcp("::ffff:\#(hostAddress)", 80, family=socket.AF_INET6))
        attempt("ipv6_private", lambda: tcp("fd00::2", 80, family=socket.AF_INET6))
        """#, network: true)
        #expect(result.status == .success, "\(result)")
        var expected = Dictionary(uniqueKeysWithValues: targets.map { ($0.0, "EHOSTUNREACH") })
        for name in ["metadata_udp", "subnet_broadcast", "limited_broadcast", "dontroute_gateway", "mapped_host"] {
            expected[name] = "EHOSTUNREACH"
        }
        expected["ipv6_private"] = "ENETUNREACH" // slirp4netns runs without IPv6: no IPv6 route at all
        #expect(fields == expected)
        #expect(result.executionTimeMs < 4000, "a blocked destination timed out instead of failing at once")
    }

    /// Naming the interface (SO_BINDTODEVICE, IP_MULTICAST_IF) makes the kernel skip the reject
    /// routes and put the packet on tap0 as if on-link; slirp4netns must then drop it: it answers
    /// ARP only for 10.0.2.2 and 10.0.2.3 and relays no multicast or broadcast. Nothing arrives.
    @Test func interfaceBoundPacketsDoNotReachTheHost() async throws {
        let hostAddress = try #require(HostListener.firstExternalIPv4(), "the host has no IPv4 address besides loopback")
        let tcp = try HostListener(tcp: "0.0.0.0")
        let udp = try HostDatagramSocket(groups: ["224.0.0.123", "239.7.7.7"], interface: hostAddress)
        // From the host itself, unicast and multicast (looped back) do arrive: the socket would see them.
        let (status, output) = TestSupport.hostShell("""
        /usr/bin/python3 -c 'import socket, time; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); \
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("\(hostAddress)")); \
        s.sendto(b"host", ("\(hostAddress)", \(udp.port))); s.sendto(b"host multicast", ("239.7.7.7", \(udp.port))); time.sleep(0.2)'
        """)
        #expect(status == 0, "\(output)")
        #expect(udp.received().sorted() == ["host", "host multicast"])
        let (result, fields) = await Abuse.python(#"""
        import time
        def bound(kind=socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"tap0")
            return s
        def multicast():
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("10.0.2.100"))
            return s
        def broadcast():
            s = bound()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            return s
        def connect_bound():
            s = bound(socket.SOCK_STREAM)
            s.settimeout(1)
            s.connect(("\#(hostAddress)", \#(tcp.port)))
        attempt("udp_bound", lambda: bound().sendto(b"bound", ("\#(hostAddress)", \#(udp.port))))
        attempt("udp_local_multicast", lambda: multicast().sendto(b"local multicast", ("224.0.0.123", \#(udp.port))))
        attempt("udp_multicast", lambda: multicast().sendto(b"multicast", ("239.7.7.7", \#(udp.port))))
        attempt("udp_broadcast", lambda: broadcast().sendto(b"broadcast", ("255.255.255.255", \#(udp.port))))
        attempt("udp_subnet_broadcast", lambda: broadcast().sendto(b"subnet broadcast", ("10.0.2.255", \#(udp.port))))
        try:
            connect_bound()
            print("tcp_bound=ok")
        except socket.timeout:
            print("tcp_bound=timeout")
        except OSError as e:
            print("tcp_bound=" + name_of(e.errno))
        time.sleep(0.5)  # anything slirp4netns relays has arrived before it is stopped
        """#, network: true)
        #expect(result.status == .success, "\(result)")
        #expect(fields["tcp_bound"] != "ok", "\(fields)")
        #expect(tcp.acceptAll() == 0, "an interface-bound connect reached the host: \(fields)")
        #expect(udp.received().sorted() == ["host", "host multicast"], "interface-bound datagrams reached the host: \(fields)")
    }

    /// The host's addresses are read at each run: one added to the host just now (public, in no
    /// blocked range, on `lo`) is as unreachable as the rest, while the host itself reaches it.
    @Test func networkAccessFencesAnAddressJustAddedToTheHost() async throws {
        let address = "100.128.77.77" // just past 100.64.0.0/10, so only the host-address rule covers it
        let (added, addOutput) = TestSupport.hostShell("PATH=/usr/sbin:/sbin:$PATH ip -4 addr replace \(address)/32 dev lo")
        try #require(added == 0, "cannot add an address to the host's lo: \(addOutput)")
        defer { _ = TestSupport.hostShell("PATH=/usr/sbin:/sbin:$PATH ip -4 addr del \(address)/32 dev lo") }
        let listener = try HostListener(tcp: "0.0.0.0")
        let (status, output) = TestSupport.hostShell(Self.hostConnect(address, listener.port))
        #expect(status == 0 && output == "reached\n", "\(output)")
        #expect(listener.acceptAll() == 1)

        let (result, fields) = await Abuse.python(#"""
        def tcp(host, port):
            s = socket.socket()
            s.settimeout(5)
            s.connect((host, port))
        attempt("added", lambda: tcp("\#(address)", \#(listener.port)))
        """#, network: true)
        #expect(result.status == .success, "\(result)")
        #expect(fields == ["added": "EHOSTUNREACH"])
        #expect(listener.acceptAll() == 0, "a networked jail reached the host through an address added at run time")
    }

    /// What a networked jail keeps: its own loopback, tap0 with a default route through 10.0.2.2,
    /// the DNS forwarder 10.0.2.3 in /etc/resolv.conf and routed through tap0 (and answering
    /// whenever the host's own resolver answers), while the blocked ranges are reject routes.
    @Test func networkAccessKeepsLoopbackDefaultRouteAndDNS() async throws {
        // The same query from the host, to the first nameserver of its resolv.conf (where slirp4netns forwards).
        let hostServer = #"open("/etc/resolv.conf").read().split("nameserver")[1].split()[0]"#
        let (hostStatus, hostDNS) = TestSupport.hostShell("/usr/bin/python3 -c '\(Self.dnsQuery(server: hostServer))'")
        let (result, fields) = await Abuse.python(#"""
        import struct
        def own_loopback():
            server = socket.socket()
            server.bind(("127.0.0.1", 0))
            server.listen(1)
            client = socket.create_connection(server.getsockname(), timeout=5)
            peer, _ = server.accept()
            client.sendall(b"ping")
            assert peer.recv(4) == b"ping"
        attempt("own_loopback", own_loopback)
        print("resolv=" + open("/etc/resolv.conf").read().strip().replace("\n", ";"))
        def word(text):
            return struct.unpack(">I", struct.pack("<I", int(text, 16)))[0]
        table = []
        for line in open("/proc/net/route").read().splitlines()[1:]:
            f = line.split()
            table.append((f[0], word(f[1]), word(f[2]), int(f[3], 16), word(f[7])))
        def route(target):
            t = struct.unpack(">I", socket.inet_aton(target))[0]
            best = max((r for r in table if t & r[4] == r[1]), key=lambda r: r[4])
            if best[3] & 0x0200:
                return "reject"
            return best[0] + (" via " + socket.inet_ntoa(struct.pack(">I", best[2])) if best[2] else "")
        for name, target in [("dns", "10.0.2.3"), ("gateway", "10.0.2.2"), ("outside", "198.51.99.1"), ("metadata", "169.254.169.254")]:
            print(f"route_{name}={route(target)}")
        \#(Self.dnsQuery(server: "\"10.0.2.3\""))
        """#, network: true)
        #expect(result.status == .success, "\(result)")
        #expect(fields["own_loopback"] == "ok")
        #expect(fields["resolv"] == "nameserver 10.0.2.3")
        #expect(fields["route_dns"] == "tap0")
        #expect(fields["route_gateway"] == "reject")
        #expect(fields["route_outside"] == "tap0 via 10.0.2.2")
        #expect(fields["route_metadata"] == "reject")
        if hostStatus == 0 && hostDNS.hasPrefix("dns=answer") {
            #expect(fields["dns"] == "answer", "the host's resolver answers, the jail's 10.0.2.3 does not: \(fields)")
        } else {
            #expect(fields["dns"] == "answer" || fields["dns"] == "timeout", "\(fields)")
        }
    }

    /// slirp4netns runs as host root, so it confines itself before the jail's program starts:
    /// no capability but CAP_NET_BIND_SERVICE, no_new_privs, a seccomp filter, its own mount
    /// namespace; it holds none of the service's descriptors; and it does not outlive the run.
    @Test func slirpIsConfinedWhileTheJailRuns() async throws {
        // A descriptor of the service without close-on-exec, as Foundation leaves some.
        let dir = try Abuse.hostDirectory()
        defer { Abuse.removeHostDirectory(dir) }
        let marker = dir + "/service-file"
        let serviceFD = open(marker, O_WRONLY | O_CREAT, 0o600)
        try #require(serviceFD >= 0)
        defer { close(serviceFD) }
        let box = Abuse.HandleBox()
        var spec = JailSpec(arguments: ["/bin/sleep", "60"], environment: JailSpec.baseEnvironment)
        spec.network = true
        let run = Task { await TestSupport.sandbox.run(spec) { box.set($0) } }
        defer { run.cancel() }
        var slirp: Int32?
        var members = 0
        let deadline = Date().addingTimeInterval(30)
        while (slirp == nil || members < 2) && Date() < deadline {
            try await Task.sleep(nanoseconds: 10_000_000)
            guard let handle = box.handle else { continue }
            slirp = Self.slirpProcess(for: handle.initPID)
            // The program runs (its init's child exists): slirp4netns reported ready long before.
            members = Abuse.processesLeft(namespace: handle.pidNamespace, initPID: handle.initPID).count
        }
        let pid = try #require(slirp, "no slirp4netns for the networked jail")
        let status = Posix.readFile("/proc/\(pid)/status") ?? ""
        func field(_ name: String) -> String? {
            status.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                .map { $0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces) }
        }
        #expect(field("CapEff") == "0000000000000400", "\(status)") // CAP_NET_BIND_SERVICE only
        #expect(field("CapBnd") == "0000000000000400")
        #expect(field("NoNewPrivs") == "1")
        #expect(field("Seccomp") == "2")
        #expect(Posix.readLink("/proc/\(pid)/ns/mnt") != Posix.readLink("/proc/self/ns/mnt"))
        let held = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? [])
            .compactMap { Posix.readLink("/proc/\(pid)/fd/\($0)") }
        #expect(!held.isEmpty && !held.contains(marker), "slirp4netns holds the service's descriptors: \(held)")
        run.cancel()
        _ = await run.value
        #expect(Self.slirpProcess(for: box.handle!.initPID) == nil, "slirp4netns outlived its jail")
    }

    /// slirp4netns's sandbox detaches its old root. Started in a mount namespace that shares the
    /// scratch parent with the host, that detach would unmount every other run's scratch tmpfs
    /// (/out) on the host too, and their writes would then land on the host's disk, uncapped.
    @Test func slirpLeavesOtherRunsScratchMountsAlone() async throws {
        let scratch = try ScratchMount(sizeMB: 1)
        func mounted() -> Bool {
            (Posix.readFile("/proc/self/mountinfo") ?? "").split(separator: "\n")
                .contains { $0.split(separator: " ").dropFirst(4).first.map(String.init) == scratch.path }
        }
        #expect(mounted())
        let result = await TestSupport.run("python", "print(1)", network: true)
        #expect(result.status == .success, "\(result)")
        #expect(mounted(), "starting slirp4netns unmounted a scratch tmpfs on the host")
    }

    /// The live slirp4netns whose target is the jail init `initPID`.
    private static func slirpProcess(for initPID: Int32) -> Int32? {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).first { pid in
            guard let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let argv = raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return argv.first?.hasSuffix("slirp4netns") == true && argv.contains(String(initPID)) && Abuse.isLive(pid)
        }
    }

    /// A host-side TCP connect that prints `reached`.
    private static func hostConnect(_ host: String, _ port: UInt16) -> String {
        "/usr/bin/python3 -c 'import socket; socket.create_connection((\"\(host)\", \(port)), timeout=5); print(\"reached\")'"
    }

    /// Python that sends one DNS query (A example.com) to the server expression and prints
    /// `dns=answer`, `dns=timeout` or `dns=ERRNO`.
    private static func dnsQuery(server: String) -> String {
        #"import socket, struct, errno; q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x07example\x03com\x00\x00\x01\x00\x01"; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)"#
            + "\n" + #"try:"# + "\n"
            + #"    s.sendto(q, (\#(server), 53)); r = s.recv(512); print("dns=" + ("answer" if r[:2] == q[:2] else "garbage"))"# + "\n"
            + #"except socket.timeout:"# + "\n" + #"    print("dns=timeout")"# + "\n"
            + #"except OSError as e:"# + "\n" + #"    print("dns=" + errno.errorcode.get(e.errno, str(e.errno)))"#
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

/// A UDP socket on the host (0.0.0.0, a free port, non-blocking) that also joins multicast groups.
final class HostDatagramSocket {
    let fd: Int32
    private(set) var port: UInt16 = 0
    private var payloads: [String] = []

    init(groups: [String], interface: String) throws {
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { close(fd); throw POSIXError(.EADDRINUSE) }
        port = UInt16(bigEndian: addr.sin_port)
        for group in groups {
            var request = ip_mreq()
            inet_pton(AF_INET, group, &request.imr_multiaddr)
            inet_pton(AF_INET, interface, &request.imr_interface)
            _ = setsockopt(fd, Int32(IPPROTO_IP), IP_ADD_MEMBERSHIP, &request, socklen_t(MemoryLayout<ip_mreq>.size))
        }
    }

    deinit { close(fd) }

    /// Every datagram received so far, as text.
    func received() -> [String] {
        var buffer = [UInt8](repeating: 0, count: 2048)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return payloads }
            payloads.append(String(decoding: buffer[0 ..< n], as: UTF8.self))
        }
    }
}
