import CorralSandbox
import CorralTestSupport
import Glibc
import Testing

/// SECURITY.md abuse cases 15 and 17 and measures 5, 7 and 9: namespaces, mounts and the
/// kernel's most exploited interfaces, reached by raw syscall (x86_64 numbers) so that no
/// library can soften the attempt. Arguments are chosen so that the kernel itself would answer
/// EINVAL/EFAULT/EOPNOTSUPP: an EPERM can only come from the seccomp filter.
@Suite(.enabled(if: TestSupport.jailsAvailable && isX86_64))
struct AbuseKernelTests {
    // MARK: 15. mount, umount, unshare, setns

    @Test func mountsAndNamespacesCannotBeChanged() async {
        let (result, fields) = await Abuse.python(#"""
        s = ctypes.c_char_p
        call("mount", 165, s(b"none"), s(b"/tmp"), s(b"tmpfs"), 0, 0)
        call("remount_rw", 165, 0, s(b"/usr"), 0, 0x20 | 0x1000, 0)       # MS_REMOUNT | MS_BIND
        call("umount2", 166, s(b"/proc/sys"), 2)
        call("pivot_root", 155, s(b"/tmp"), s(b"/tmp"))
        call("chroot", 161, s(b"/tmp"))
        call("unshare_user", 272, 0x10000000)
        call("unshare_mount", 272, 0x00020000)
        call("unshare_net", 272, 0x40000000)
        call("setns", 308, os.open("/proc/self/ns/user", os.O_RDONLY), 0)
        call("clone_newuser", 56, 0x10000000 | 17, 0, 0, 0, 0)
        call("clone_newns", 56, 0x00020000 | 17, 0, 0, 0, 0)
        call("clone_newpid_high_bits", 56, (1 << 40) | 0x20000000 | 17, 0, 0, 0, 0)
        call("clone3", 435, 0, 0)
        call("fsopen", 430, s(b"tmpfs"), 0)
        call("open_tree", 428, -100, s(b"/usr"), 1)                     # OPEN_TREE_CLONE
        call("mount_setattr", 442, -100, s(b"/usr"), 0, 0, 0)
        """#)
        #expect(result.status == .success, "\(result)")
        var expected = Dictionary(uniqueKeysWithValues: [
            "mount", "remount_rw", "umount2", "pivot_root", "chroot", "unshare_user", "unshare_mount", "unshare_net",
            "setns", "clone_newuser", "clone_newns", "clone_newpid_high_bits", "fsopen", "open_tree", "mount_setattr",
        ].map { ($0, "EPERM") })
        expected["clone3"] = "ENOSYS" // its flags are out of seccomp's reach: libc falls back to clone
        #expect(fields == expected)
        await Abuse.expectHealthy()
    }

    @Test func nestedUserNamespacesFailFromTools() async {
        let result = await TestSupport.run("bash", "unshare -Ur id -u; echo status=$?")
        #expect(result.stderr.contains("unshare failed: Operation not permitted"))
        #expect(result.stdout == "status=1\n")
        await Abuse.expectHealthy()
    }

    /// Unsandboxed, an unprivileged user may create a user namespace on this host: the failure above is the jail's.
    @Test func nestedUserNamespacesWorkUnsandboxed() {
        let (status, output) = TestSupport.hostShell("setpriv --reuid=65534 --regid=65534 --clear-groups unshare -Ur id -u")
        #expect(status == 0, "\(output)")
        #expect(output == "0\n")
    }

    // MARK: 17. keyctl, userfaultfd, io_uring, bpf, perf_event_open

    static let kernelSurface = #"""
    s = ctypes.c_char_p
    call("keyctl", 250, 9999, 0, 0, 0, 0)
    call("add_key", 248, 0, 0, 0, 0, -1)
    call("request_key", 249, 0, 0, 0, 0)
    call("userfaultfd", 323, 1 | (1 << 20))          # UFFD_USER_MODE_ONLY and an invalid flag
    call("io_uring_setup", 425, 1, 0)
    call("io_uring_enter", 426, -1, 0, 0, 0, 0, 0)
    call("io_uring_register", 427, -1, 0, 0, 0)
    call("bpf", 321, 9999, 0, 0)
    call("perf_event_open", 298, 0, 0, -1, -1, 0)
    call("open_by_handle_at", 304, -1, 0, 0)
    call("name_to_handle_at", 303, -100, s(b"/"), 0, 0, 0)
    call("fanotify_init", 300, 0xffffffff, 0)
    call("kexec_load", 246, 0, 0, 0, 0)
    call("init_module", 175, 0, 0, s(b""))
    call("iopl", 172, 3)
    call("ioperm", 173, 0, 1024, 1)
    call("syslog", 103, 3, 0, 0)
    call("clock_settime", 227, 0, 0)
    call("settimeofday", 164, 0, 0)
    call("adjtimex", 159, 0)
    call("swapon", 167, s(b"/tmp/x"), 0)
    call("acct", 163, 0)
    call("reboot", 169, 0, 0, 0, 0)
    call("set_mempolicy", 238, 0, 0, 0)
    call("move_pages", 279, 0, 0, 0, 0, 0, 0)
    """#

    @Test func kernelAttackSurfaceIsDeniedBySeccomp() async {
        let (result, fields) = await Abuse.python(Self.kernelSurface)
        #expect(result.status == .success, "\(result)")
        #expect(fields.count == 25)
        for (name, outcome) in fields.sorted(by: { $0.key < $1.key }) {
            #expect(outcome == "EPERM", "\(name) → \(outcome)")
        }
        await Abuse.expectHealthy()
    }

    /// The same calls unsandboxed (as root, the most a filter could be asked to stop) meet the
    /// kernel's own checks, not EPERM: the EPERMs in the jail are the filter's.
    @Test func kernelAttackSurfaceReachesTheKernelUnsandboxed() throws {
        let probe = (Abuse.prelude + """
        call("keyctl", 250, 9999, 0, 0, 0, 0)
        call("add_key", 248, 0, 0, 0, 0, -1)
        call("userfaultfd", 323, 1 | (1 << 20))
        call("io_uring_setup", 425, 1, 0)
        call("bpf", 321, 9999, 0, 0)
        call("perf_event_open", 298, 0, 0, -1, -1, 0)
        """).replacingOccurrences(of: "'", with: "'\\''")
        let (status, output) = TestSupport.hostShell("/usr/bin/python3 -c '\(probe)'")
        #expect(status == 0, "\(output)")
        #expect(Abuse.fields(output) == [
            "keyctl": "ENOTSUP", // = EOPNOTSUPP on Linux; Python names it ENOTSUP
            "add_key": "EFAULT", "userfaultfd": "EINVAL",
            "io_uring_setup": "EFAULT", "bpf": "EINVAL", "perf_event_open": "EFAULT",
        ])
    }

    // MARK: Terminals (measure 7) and socket families (measure 9)

    @Test func terminalInjectionAndRawSocketsAreDenied() async {
        let (result, fields) = await Abuse.python(#"""
        s = ctypes.c_char_p
        call("tiocsti", 16, 0, 0x5412, s(b"x"))
        call("tiocsti_high_bits", 16, 0, (1 << 32) | 0x5412, s(b"x"))
        call("tioclinux", 16, 1, 0x541C, s(b"\x02"))
        call("tiocgwinsz", 16, 0, 0x5413, ctypes.create_string_buffer(8))
        attempt("controlling_tty", lambda: os.open("/dev/tty", os.O_RDWR))
        call("af_packet", 41, 17, 3, 0)
        call("af_packet_high_bits", 41, (1 << 32) | 17, 3, 0)
        call("af_vsock", 41, 40, 1, 0)
        call("af_key", 41, 15, 3, 2)
        call("raw_ip", 41, 2, 3, 1)
        """#)
        #expect(result.status == .success, "\(result)")
        #expect(fields == [
            "tiocsti": "EPERM", "tiocsti_high_bits": "EPERM", "tioclinux": "EPERM",
            "tiocgwinsz": "ENOTTY", // an ioctl the filter lets through meets the pipe: stdin is no terminal
            "controlling_tty": "ENXIO", // setsid(): no controlling terminal of the service's
            "af_packet": "EAFNOSUPPORT", "af_packet_high_bits": "EAFNOSUPPORT", "af_vsock": "EAFNOSUPPORT",
            "af_key": "EAFNOSUPPORT", "raw_ip": "EPERM",
        ])
        await Abuse.expectHealthy()
    }

    // MARK: Other architectures' syscall tables (measure 9)

    /// `int 0x80` runs i386 syscalls, whose numbers differ: a filter that checked only x86_64 numbers
    /// would let i386 `unshare` & co. through. The filter kills the process instead.
    @Test(arguments: ["int80", "x32"])
    func foreignSyscallABIsAreKilled(abi: String) async {
        let result = await TestSupport.run("python", #"""
        import ctypes, mmap, sys
        if sys.argv[1] == "int80":
            code = bytes([0xb8, 20, 0, 0, 0, 0xcd, 0x80, 0xc3])   # mov eax, 20 (i386 getpid); int 0x80; ret
            m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
            m.write(code)
            f = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(m)))
            print("returned", f(), flush=True)
        else:
            libc = ctypes.CDLL(None, use_errno=True)
            print("returned", libc.syscall(ctypes.c_long(0x40000000 | 39)), flush=True)  # x32 getpid
        """#, arguments: [abi])
        #expect(result.status == .killed)
        #expect(result.signal == Int(SIGSYS))
        #expect(result.stdout == "")
        await Abuse.expectHealthy()
    }

    @Test func i386SyscallsWorkUnsandboxed() {
        let (status, output) = TestSupport.hostShell("""
        /usr/bin/python3 -c '
        import ctypes, mmap, os
        m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        m.write(bytes([0xb8, 20, 0, 0, 0, 0xcd, 0x80, 0xc3]))
        f = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(m)))
        print(f() == os.getpid())'
        """)
        #expect(status == 0, "\(output)")
        #expect(output == "True\n")
    }
}

#if arch(x86_64)
let isX86_64 = true
#else
let isX86_64 = false
#endif
