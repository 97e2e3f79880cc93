import CorralRuntimes
import CorralSandbox
import CorralTestSupport
import Foundation
import Glibc
import Testing

/// SECURITY.md abuse cases 10 and 11: what `/proc`, the environment and the descriptor table
/// disclose, and whether the kernel's knobs can be turned. The jail's init is a copy of the
/// service process, so `/proc/1` is where the service's secrets would show.
@Suite(.enabled(if: TestSupport.jailsAvailable))
struct AbuseProcfsTests {
    // MARK: 10. /proc shows only the sandbox's processes

    @Test func procShowsOnlyTheJailsProcesses() async {
        let (result, fields) = await Abuse.python(#"""
        print("pids=" + ",".join(sorted(p for p in os.listdir("/proc") if p.isdigit())))
        attempt("test_process", lambda: os.stat("/proc/\#(getpid())"))
        print("self=" + str(os.getpid()))
        """#)
        #expect(result.status == .success)
        #expect(fields["pids"] == "1,2", "the jail sees processes other than its init and itself")
        #expect(fields["self"] == "2")
        if getpid() > 2 { #expect(fields["test_process"] == "ENOENT") }
        await Abuse.expectHealthy()
    }

    /// The init was cloned from the service: its command line, environment, memory and
    /// descriptors (the status pipe) must not be readable from the jail.
    @Test func theInitDisclosesNothingOfTheService() async throws {
        // The test process's own argv: what /proc/1/cmdline showed before the init scrubbed its copy.
        let hostArgument = try #require(CommandLine.arguments.first.map { ($0 as NSString).lastPathComponent })
        let (result, fields) = await Abuse.python(#"""
        print("cmdline=" + open("/proc/1/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace").strip())
        print("comm=" + open("/proc/1/comm").read().strip())
        for name in ["environ", "mem", "maps", "auxv", "stack", "syscall"]:
            attempt(name, lambda n=name: open(f"/proc/1/{n}", "rb").read(1))
        attempt("root", lambda: os.listdir("/proc/1/root"))
        attempt("cwd", lambda: os.listdir("/proc/1/cwd"))
        attempt("fd", lambda: os.listdir("/proc/1/fd"))
        attempt("status_pipe", lambda: open("/proc/1/fd/4", "wb"))
        attempt("exe", lambda: os.readlink("/proc/1/exe"))
        """#)
        #expect(result.status == .success, "\(result)")
        #expect(fields["cmdline"] == "corral-init")
        #expect(fields["comm"] == "corral-init")
        #expect(!result.stdout.contains(hostArgument), "the service's command line shows in the jail")
        for name in ["environ", "mem", "maps", "auxv", "stack", "syscall", "root", "cwd", "fd", "status_pipe", "exe"] {
            #expect(fields[name] == "EACCES", "/proc/1/\(name): \(fields[name] ?? "?")")
        }
        await Abuse.expectHealthy()
    }

    @Test func kernelKnobsInProcAreReadOnly() async {
        let (result, fields) = await Abuse.python(#"""
        for name, path in [("hostname", "/proc/sys/kernel/hostname"), ("core_pattern", "/proc/sys/kernel/core_pattern"),
                           ("userns", "/proc/sys/user/max_user_namespaces"), ("init_oom", "/proc/1/oom_score_adj"),
                           ("uid_map", "/proc/self/uid_map"), ("setgroups", "/proc/self/setgroups")]:
            attempt(name, lambda p=path: os.write(os.open(p, os.O_WRONLY), b"0"))
        for name in ["sys", "irq", "bus"]:
            print(f"{name}_mount={'ro' if os.statvfs('/proc/' + name).f_flag & os.ST_RDONLY else 'rw'}")
        attempt("sysrq", lambda: os.write(os.open("/proc/sysrq-trigger", os.O_WRONLY), b"h"))
        """#)
        #expect(result.status == .success, "\(result)")
        #expect(fields["sys_mount"] == "ro")
        #expect(fields["irq_mount"] == "ro")
        #expect(fields["bus_mount"] == "ro")
        for name in ["hostname", "core_pattern", "userns", "init_oom"] {
            #expect(fields[name] == "EACCES", "write to \(name): \(fields[name] ?? "?")")
        }
        #expect(fields["uid_map"] == "EPERM")
        #expect(fields["setgroups"] == "EACCES")
        // Absent on kernels without magic SysRq; never writable.
        #expect(fields["sysrq"] == (FileManager.default.fileExists(atPath: "/proc/sysrq-trigger") ? "EACCES" : "ENOENT"))
        await Abuse.expectHealthy()
    }

    // MARK: 11. Only the allowed environment; only descriptors 0, 1, 2

    @Test func environmentAndDescriptorsAreOnlyWhatTheRequestDefines() async throws {
        let request = RunRequest(language: "python", code: #"""
        import json, os
        open_fds = []
        for fd in range(3, 65536):
            try:
                os.fstat(fd)
                open_fds.append(fd)
            except OSError:
                pass
        print(json.dumps({"env": dict(os.environ), "fds": open_fds}))
        """#, environment: [("REQUEST_VAR", "from the request")])
        let python = try #require(TestSupport.runtime.catalog.language(named: "python"))
        let expected = Dictionary(uniqueKeysWithValues: TestSupport.runtime.jailSpec(for: request, language: python)
            .environment.map { ($0.key, $0.value) })
        #expect(expected["REQUEST_VAR"] == "from the request")

        let result = await TestSupport.run(request)
        #expect(result.status == .success, "\(result)")
        struct Seen: Decodable { var env: [String: String]; var fds: [Int] }
        let seen = try JSONDecoder().decode(Seen.self, from: Data(result.stdout.utf8))
        #expect(seen.env == expected, "the environment holds more or other than the request and runtime define")
        #expect(seen.fds == [], "descriptors beyond 0, 1, 2 were inherited")
        await Abuse.expectHealthy()
    }

    // MARK: The jail's own view of cgroups, hostname and IPC

    @Test func cgroupHostnameAndIPCAreTheJailsOwn() async throws {
        // A SysV shared memory segment on the host: visible to the host, not in the jail's IPC namespace.
        let segment = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o666)
        try #require(segment >= 0)
        defer { shmctl(segment, IPC_RMID, nil) }
        let hostSegments = try String(contentsOfFile: "/proc/sysvipc/shm", encoding: .utf8)
        #expect(hostSegments.split(separator: "\n").dropFirst().contains { $0.split(separator: " ").dropFirst().first == Substring(String(segment)) })

        let (result, fields) = await Abuse.python(#"""
        print("cgroup=" + ";".join(open("/proc/self/cgroup").read().split()))
        print("hostname=" + os.uname().nodename)
        print("shm_segments=" + str(len(open("/proc/sysvipc/shm").read().splitlines()) - 1))
        """#)
        #expect(result.status == .success, "\(result)")
        let cgroupLines = try #require(fields["cgroup"]).split(separator: ";")
        #expect(!cgroupLines.isEmpty)
        for line in cgroupLines {
            #expect(line.hasSuffix(":/"), "the host's cgroup tree shows in the jail: \(line)")
        }
        #expect(fields["hostname"] == "corral")
        #expect(fields["shm_segments"] == "0")
        await Abuse.expectHealthy()
    }
}
