import CCorralSyscalls
import CSeccomp
import Glibc

/// The seccomp-bpf program every jailed program runs under (SECURITY.md measure 9).
/// Default allow, with a deny list of what a sandboxed program never needs and
/// what has a history of kernel exploits. Compiled once per process with
/// libseccomp; non-native architectures (i386, x32) are killed by libseccomp's
/// architecture check.
///
/// Deliberate differences from Docker's default profile are listed in docs/threat-model.md
/// (e.g. `personality` is allowed with any value: its flags only change the caller's own later
/// execs, and `no_new_privs` with `nosuid` mounts leaves no privileged program to exec with them).
public enum SeccompFilter {
    /// Syscalls that fail with EPERM.
    static let denied = [
        // mounts and namespaces
        "mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
        "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
        // kernel modules, kexec, reboot, swap, accounting, quotas
        "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot",
        "swapon", "swapoff", "acct", "quotactl", "quotactl_fd",
        // keyrings
        "add_key", "request_key", "keyctl",
        // clocks
        "clock_settime", "clock_adjtime", "settimeofday", "adjtimex",
        // other processes' memory
        "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
        // exploit-prone subsystems
        "perf_event_open", "bpf", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
        "open_by_handle_at", "name_to_handle_at", "fanotify_init", "lookup_dcookie",
        // raw hardware and kernel log
        "iopl", "ioperm", "syslog", "vhangup",
        // NUMA policy
        "mbind", "set_mempolicy", "migrate_pages", "move_pages", "set_mempolicy_home_node",
        // obsolete
        "uselib", "ustat", "sysfs", "_sysctl", "nfsservctl",
        // 16-bit segments: a rich history of kernel bugs (CVE-2014-8133, CVE-2015-5157), needed by
        // nothing but Wine and 16-bit emulators; Docker's default profile refuses it too
        "modify_ldt",
    ]

    /// Syscalls that fail with ENOSYS, so that programs take their fallback path as on a kernel
    /// without them. Native AIO draws on `fs.aio-max-nr`, one pool for the whole machine: one
    /// `io_setup(65536)` would leave every database and VM on the host without AIO. Programs that
    /// use it (libaio users, some databases) fall back to threads on ENOSYS.
    static let unimplemented = [
        "io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents", "io_pgetevents",
    ]

    /// Namespace flags that `clone` may not carry.
    static let cloneNamespaceFlags: [UInt64] = [
        0x0002_0000, // CLONE_NEWNS
        0x0200_0000, // CLONE_NEWCGROUP
        0x0400_0000, // CLONE_NEWUTS
        0x0800_0000, // CLONE_NEWIPC
        0x1000_0000, // CLONE_NEWUSER
        0x2000_0000, // CLONE_NEWPID
        0x4000_0000, // CLONE_NEWNET
    ]
    static let deniedSocketFamilies: [UInt64] = [17 /* AF_PACKET */, 40 /* AF_VSOCK */, 15 /* AF_KEY */]
    static let deniedIoctls: [UInt64] = [0x5412 /* TIOCSTI */, 0x541C /* TIOCLINUX */]

    /// The compiled BPF program (an array of `struct sock_filter`), or the reason it could not be built.
    public static let program: Result<[UInt8], SandboxError> = compile()

    private static func compile() -> Result<[UInt8], SandboxError> {
        guard let ctx = seccomp_init(SCMP_ACT_ALLOW) else {
            return .failure(.system(call: "seccomp_init", errno: ENOMEM, context: "the seccomp filter"))
        }
        defer { seccomp_release(ctx) }
        let eperm = corral_scmp_act_errno(UInt16(EPERM))
        func rule(_ action: UInt32, _ name: String, _ args: [scmp_arg_cmp]) -> Int32 {
            let nr = seccomp_syscall_resolve_name(name)
            if nr == __NR_SCMP_ERROR { return 0 } // not a syscall on this architecture
            return args.withUnsafeBufferPointer { seccomp_rule_add_array(ctx, action, nr, UInt32(args.count), $0.baseAddress) }
        }
        func masked(_ arg: UInt32, mask: UInt64, equals: UInt64) -> scmp_arg_cmp {
            scmp_arg_cmp(arg: arg, op: SCMP_CMP_MASKED_EQ, datum_a: mask, datum_b: equals)
        }
        var failures: [String] = []
        for name in denied where rule(eperm, name, []) != 0 { failures.append(name) }
        let enosys = corral_scmp_act_errno(UInt16(ENOSYS))
        for name in unimplemented where rule(enosys, name, []) != 0 { failures.append(name) }
        // clone3 passes its flags in memory, out of seccomp's reach: ENOSYS makes libc fall back to clone.
        if rule(corral_scmp_act_errno(UInt16(ENOSYS)), "clone3", []) != 0 { failures.append("clone3") }
        for flag in cloneNamespaceFlags where rule(eperm, "clone", [masked(0, mask: flag, equals: flag)]) != 0 {
            failures.append("clone")
        }
        for family in deniedSocketFamilies {
            let action = corral_scmp_act_errno(UInt16(EAFNOSUPPORT))
            if rule(action, "socket", [masked(0, mask: 0xFFFF_FFFF, equals: family)]) != 0 { failures.append("socket") }
        }
        for request in deniedIoctls where rule(eperm, "ioctl", [masked(1, mask: 0xFFFF_FFFF, equals: request)]) != 0 {
            failures.append("ioctl")
        }
        guard failures.isEmpty else {
            return .failure(.invalidRequest("seccomp rules could not be added for: \(failures.joined(separator: ", "))"))
        }
        // libseccomp 2.5 exports only to a descriptor; a memfd keeps it in memory.
        let fd = corral_memfd_create_cloexec("corral-seccomp")
        guard fd >= 0 else { return .failure(.system(call: "memfd_create", errno: errno, context: "the seccomp filter")) }
        defer { close(fd) }
        let rc = seccomp_export_bpf(ctx, fd)
        guard rc == 0 else { return .failure(.system(call: "seccomp_export_bpf", errno: -rc, context: "the seccomp filter")) }
        let size = Int(lseek(fd, 0, SEEK_END))
        var bytes = [UInt8](repeating: 0, count: Int(size))
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n == size, size > 0, size % 8 == 0 else {
            return .failure(.system(call: "pread", errno: EIO, context: "the exported seccomp filter"))
        }
        return .success(bytes)
    }
}
