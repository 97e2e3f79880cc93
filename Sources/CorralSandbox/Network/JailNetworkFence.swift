import Glibc

/// What a networked jail must not reach, made unreachable in the jail's own network namespace
/// (SECURITY.md measure 12). slirp4netns relays whatever the jail sends to any address from the
/// host itself, so the host's own addresses, its LAN, link-local (cloud metadata at 169.254.169.254)
/// and every private range would otherwise be one `connect` away. The routes are installed by host
/// root before the spec is sent; the jail's program has no CAP_NET_ADMIN and cannot remove them.
enum JailNetworkFence {
    /// slirp4netns's defaults: the jail is 10.0.2.100 on tap0, 10.0.2.2 is the gateway (and slirp's
    /// alias for the host), 10.0.2.3 its DNS forwarder, the only address of the subnet left reachable.
    static let slirpSubnet = IPv4Prefix("10.0.2.0/24")!
    static let slirpDNS = IPv4Prefix.parse("10.0.2.3")!

    /// Never a destination of a networked jail (besides the host's own addresses).
    static let blockedRanges: [IPv4Prefix] = [
        "0.0.0.0/8", // "this network"
        "10.0.0.0/8", // private
        "100.64.0.0/10", // carrier-grade NAT
        "169.254.0.0/16", // link-local, cloud metadata services
        "172.16.0.0/12", // private
        "192.0.0.0/24", // IETF protocol assignments
        "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", // documentation (TEST-NET-1..3)
        "192.168.0.0/16", // private
        "198.18.0.0/15", // benchmarking
        "224.0.0.0/4", // multicast
        "240.0.0.0/4", // reserved, and the limited broadcast 255.255.255.255
    ].map { IPv4Prefix($0)! }

    /// The route changes for a jail on a host whose interfaces carry `hostAddresses`.
    static func changes(hostAddresses: [UInt32]) -> [RouteNetlink.Change] {
        var prefixes = blockedRanges
        // The slirp subnet except its DNS forwarder: more specific than the subnet's own route on tap0,
        // so they win over it. The gateway stays usable as the default route's next hop (the kernel
        // resolves a next hop on its device, not through these routes) but not as a destination.
        prefixes += slirpSubnet.excluding(slirpDNS)
        // The host's own addresses, wherever they are (a public address included). Those inside the
        // slirp subnet are covered above; the jail's 10.0.2.3 is slirp's forwarder, never the host.
        prefixes += hostAddresses.filter { !slirpSubnet.contains($0) && $0 >> 24 != 127 }.map { IPv4Prefix($0, 32) }
        var seen = Set<IPv4Prefix>()
        var changes = prefixes.filter { seen.insert($0).inserted }.map(RouteNetlink.Change.unreachable)
        // The kernel adds a local `broadcast` route for tap0's subnet (10.0.2.255, and 10.0.2.0 on older
        // kernels); local routes win over the main table, and slirp relays such datagrams to the same
        // address on the host's side, that is into 10.0.0.0/8.
        changes += [slirpSubnet.address | ~IPv4Prefix.mask(slirpSubnet.length), slirpSubnet.address]
            .map(RouteNetlink.Change.removeLocalBroadcast)
        return changes
    }

    /// Fences the network namespace of `jailPID` in. Throws if any route could not be installed:
    /// a networked jail never runs without them.
    static func install(jailPID: pid_t) throws(SandboxError) {
        let netlink = try RouteNetlink.open(inNetworkNamespaceOf: jailPID)
        try netlink.apply(changes(hostAddresses: try hostIPv4Addresses()))
    }

    /// IPv4 addresses configured on the host's interfaces now (the service's network namespace).
    static func hostIPv4Addresses() throws(SandboxError) -> [UInt32] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { throw .system(call: "getifaddrs", errno: errno, context: "the host's addresses to fence a jail off") }
        defer { freeifaddrs(list) }
        var addresses: [UInt32] = []
        var cursor = list
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET) else { continue }
            address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                addresses.append(UInt32(bigEndian: $0.pointee.sin_addr.s_addr))
            }
        }
        return addresses
    }
}
