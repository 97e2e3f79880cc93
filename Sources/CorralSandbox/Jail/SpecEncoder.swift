import CCorralJail

/// Encodes the operations the jail's init performs (see corral_jail.h for the wire format).
struct SpecEncoder {
    private(set) var bytes: [UInt8] = []
    /// A description of each operation, to name the one that failed.
    private(set) var descriptions: [String] = []

    enum Arg {
        case string(String)
        case bytes([UInt8])
        case number(UInt64)
    }

    mutating func append(_ op: corral_op, _ args: [Arg], describe: String) {
        put32(op.rawValue)
        put32(UInt32(args.count))
        for arg in args {
            switch arg {
            case .string(let s):
                var b = Array(s.utf8)
                b.append(0)
                put32(UInt32(b.count)); bytes += b
            case .bytes(let b):
                put32(UInt32(b.count)); bytes += b
            case .number(let n):
                put32(8)
                withUnsafeBytes(of: n.littleEndian) { bytes += $0 }
            }
        }
        descriptions.append(describe)
    }

    /// The framed message: magic, length, operations.
    func framed() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 8)
        withUnsafeBytes(of: CORRAL_SPEC_MAGIC.littleEndian) { out += $0 }
        withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { out += $0 }
        return out + bytes
    }

    private mutating func put32(_ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { bytes += $0 }
    }
}

extension SpecEncoder {
    mutating func mount(_ source: String, _ target: String, _ fstype: String, _ flags: UInt, _ data: String = "") {
        append(CORRAL_OP_MOUNT, [.string(source), .string(target), .string(fstype), .number(UInt64(flags)), .string(data)],
               describe: "mount \(fstype.isEmpty ? source : fstype) on \(target)")
    }
    mutating func bindRemount(_ target: String, _ flags: UInt) {
        append(CORRAL_OP_BIND_REMOUNT, [.string(target), .number(UInt64(flags))], describe: "remount \(target)")
    }
    mutating func remount(_ target: String, _ flags: UInt) {
        append(CORRAL_OP_REMOUNT, [.string(target), .number(UInt64(flags))], describe: "remount \(target)")
    }
    mutating func mkdir(_ path: String, mode: UInt64 = 0o755) {
        append(CORRAL_OP_MKDIR, [.string(path), .number(mode)], describe: "mkdir \(path)")
    }
    mutating func chown(_ path: String, uid: UInt32, gid: UInt32) {
        append(CORRAL_OP_CHOWN, [.string(path), .number(UInt64(uid)), .number(UInt64(gid))], describe: "chown \(path)")
    }
    mutating func touch(_ path: String) {
        append(CORRAL_OP_TOUCH, [.string(path)], describe: "create \(path)")
    }
    mutating func symlink(_ target: String, at path: String) {
        append(CORRAL_OP_SYMLINK, [.string(target), .string(path)], describe: "symlink \(path)")
    }
    mutating func writeFile(_ path: String, _ contents: [UInt8], mode: UInt64, uid: UInt32, gid: UInt32) {
        append(CORRAL_OP_WRITE_FILE, [.string(path), .bytes(contents), .number(mode), .number(UInt64(uid)), .number(UInt64(gid))],
               describe: "write \(path)")
    }
    mutating func pivot(_ root: String) { append(CORRAL_OP_PIVOT, [.string(root)], describe: "pivot_root \(root)") }
    mutating func hostname(_ name: String) { append(CORRAL_OP_HOSTNAME, [.string(name)], describe: "sethostname") }
    mutating func loopbackUp() { append(CORRAL_OP_LOOPBACK_UP, [], describe: "bring up lo") }
    mutating func chdir(_ path: String) { append(CORRAL_OP_CHDIR, [.string(path)], describe: "chdir \(path)") }
    mutating func sysctl(_ path: String, _ value: String) {
        append(CORRAL_OP_SYSCTL, [.string(path), .string(value)], describe: "set \(path) to \(value)")
    }
    mutating func rlimit(_ resource: Int32, _ soft: UInt64, _ hard: UInt64) {
        append(CORRAL_OP_RLIMIT, [.number(UInt64(resource)), .number(soft), .number(hard)], describe: "rlimit \(resource)")
    }
    mutating func credentials(uid: UInt32, gid: UInt32) {
        append(CORRAL_OP_CREDS, [.number(UInt64(uid)), .number(UInt64(gid))], describe: "credentials")
    }
    mutating func seccomp(_ program: [UInt8]) { append(CORRAL_OP_SECCOMP, [.bytes(program)], describe: "seccomp") }
    mutating func env(_ key: String, _ value: String) { append(CORRAL_OP_ENV, [.string("\(key)=\(value)")], describe: "env \(key)") }
    mutating func arg(_ a: String) { append(CORRAL_OP_ARG, [.string(a)], describe: "argument") }
    mutating func warm() { append(CORRAL_OP_WARM, [], describe: "wait for a hand-off") }
    mutating func keepCapabilities() { append(CORRAL_OP_KEEP_CAPS, [], describe: "keep the namespace's capabilities (zygote)") }
    mutating func exec(_ path: String) { append(CORRAL_OP_EXEC, [.string(path)], describe: "exec \(path)") }
}
