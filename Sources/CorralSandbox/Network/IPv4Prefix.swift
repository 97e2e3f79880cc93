import Glibc

/// An IPv4 network `address/length`, the address in host byte order.
struct IPv4Prefix: Hashable, Sendable, CustomStringConvertible {
    let address: UInt32
    let length: UInt8

    init(_ address: UInt32, _ length: UInt8) {
        precondition(length <= 32)
        self.length = length
        self.address = address & Self.mask(length)
    }

    /// Parses `a.b.c.d/len` or `a.b.c.d` (a /32); nil when malformed.
    init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = Self.parse(String(parts[0])) else { return nil }
        var length: UInt8 = 32
        if parts.count == 2 {
            guard let l = UInt8(parts[1]), l <= 32 else { return nil }
            length = l
        }
        self.init(address, length)
    }

    static func mask(_ length: UInt8) -> UInt32 {
        length == 0 ? 0 : UInt32.max << (32 - UInt32(length))
    }

    static func parse(_ dotted: String) -> UInt32? {
        var raw = in_addr()
        guard inet_pton(AF_INET, dotted, &raw) == 1 else { return nil }
        return UInt32(bigEndian: raw.s_addr)
    }

    func contains(_ address: UInt32) -> Bool {
        address & Self.mask(length) == self.address
    }

    /// The address in network byte order, as it goes on the wire.
    var networkBytes: [UInt8] {
        [UInt8(address >> 24), UInt8(address >> 16 & 0xff), UInt8(address >> 8 & 0xff), UInt8(address & 0xff)]
    }

    var description: String {
        networkBytes.map(String.init).joined(separator: ".") + "/\(length)"
    }

    /// Prefixes that together cover this network except `address`: the sibling of every
    /// prefix on the way down from this one to the /32 of `address` (one per bit).
    func excluding(_ address: UInt32) -> [IPv4Prefix] {
        guard contains(address) else { return [self] }
        guard length < 32 else { return [] }
        return (length + 1 ... 32).map { bits in
            IPv4Prefix(address ^ (1 << (32 - UInt32(bits))), bits)
        }
    }
}
