import CorralSandbox
import CorralTestSupport
import Foundation
import Glibc
import Testing

/// SECURITY.md abuse cases 5, 12 and 13: processes that try to outlive the run, to reach
/// other processes, or to signal processes outside the jail; and measure 8 (the jail dies
/// with the service).
@Suite(.enabled(if: TestSupport.jailsAvailable))
struct AbuseProcessTests {
    // MARK: 5. Double fork + setsid daemon

    @Test func daemonsDoNotOutliveTheRun() async {
        // One classic daemon (double fork, setsid, stdio closed), one that stops itself, one from `setsid -f`.
        let (result, handle) = await TestSupport.runObserved("python", #"""
        import os, signal, subprocess, time
        def daemon(stop):
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    for fd in (0, 1, 2):
                        os.close(fd)
                    signal.signal(signal.SIGTERM, signal.SIG_IGN)
                    signal.signal(signal.SIGHUP, signal.SIG_IGN)
                    if stop:
                        os.kill(os.getpid(), signal.SIGSTOP)
                    time.sleep(300)
                    os._exit(0)
                os._exit(0)
            os.wait()
        daemon(stop=False)
        daemon(stop=True)
        subprocess.run(["setsid", "-f", "sleep", "300"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.2)
        print(len([p for p in os.listdir("/proc") if p.isdigit()]))
        """#)
        #expect(result.status == .success, "\(result)") // not a timeout: the run did not wait for its daemons
        // init, the program and the three daemons were all alive when the program returned.
        #expect(result.stdout == "5\n")
        Abuse.expectNothingLeft(handle)
        await Abuse.expectHealthy()
    }

    // MARK: 12. ptrace and other ways into another process's memory

    @Test func ptraceAndCrossProcessMemoryAccessAreDenied() async {
        let (result, fields) = await Abuse.python(#"""
        import time
        child = os.fork()
        if child == 0:
            time.sleep(30)
            os._exit(0)
        call("ptrace_attach_child", 101, 16, child, 0, 0)         # PTRACE_ATTACH
        call("ptrace_seize_child", 101, 0x4206, child, 0, 0)      # PTRACE_SEIZE
        call("ptrace_attach_init", 101, 16, 1, 0, 0)
        buf = ctypes.create_string_buffer(8)
        iov = (ctypes.c_void_p * 2)(ctypes.addressof(buf), 8)
        call("process_vm_readv", 310, child, ctypes.addressof(iov), 1, ctypes.addressof(iov), 1, 0)
        call("process_vm_writev", 311, child, ctypes.addressof(iov), 1, ctypes.addressof(iov), 1, 0)
        call("kcmp", 312, os.getpid(), child, 0, 0, 0)            # KCMP_FILE
        call("pidfd_getfd", 438, os.pidfd_open(child), 0, 0)
        attempt("init_mem", lambda: open("/proc/1/mem", "rb").read(1))
        r, w = os.pipe()
        tracee = os.fork()
        if tracee == 0:
            os.close(r)
            ctypes.set_errno(0)
            ok = libc.syscall(ctypes.c_long(101), ctypes.c_long(0), ctypes.c_long(0), ctypes.c_long(0), ctypes.c_long(0))
            os.write(w, (f"ptrace_traceme={'ok' if ok == 0 else name_of(ctypes.get_errno())}\n").encode())
            os._exit(0)
        os.close(w)
        os.waitpid(tracee, 0)
        sys.stdout.write(os.read(r, 100).decode())
        os.kill(child, 9)
        """#)
        #expect(result.status == .success, "\(result)")
        #expect(fields == [
            "ptrace_attach_child": "EPERM", "ptrace_seize_child": "EPERM", "ptrace_attach_init": "EPERM",
            "process_vm_readv": "EPERM", "process_vm_writev": "EPERM", "kcmp": "EPERM", "pidfd_getfd": "EPERM",
            "init_mem": "EACCES", "ptrace_traceme": "EPERM",
        ])
        await Abuse.expectHealthy()
    }

    /// Unsandboxed, an unprivileged process may trace itself: the EPERM above is the jail's doing.
    @Test func ptraceWorksUnsandboxed() {
        let (status, output) = TestSupport.hostShell("""
        setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 -c '
        import ctypes; libc = ctypes.CDLL(None, use_errno=True)
        print("traceme", libc.ptrace(0, 0, 0, 0))'
        """)
        #expect(status == 0, "\(output)")
        #expect(output == "traceme 0\n")
    }

    // MARK: 13. kill(-1, SIGKILL)

    @Test func killMinusOneKillsOnlyTheJailsProcesses() async throws {
        // Host processes with the very uid the jailed program has on the host (each jail has a slot of
        // its own: one victim per slot the attack may get): without the PID namespace, kill(-1) from
        // the jail would reach them.
        var victims: [Process] = []
        defer { for v in victims { kill(v.processIdentifier, SIGKILL); v.waitUntilExit() } }
        for slot in 0..<8 {
            let uid = JailIdentity(slot: slot).programHostID
            let victim = Process()
            victim.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            victim.arguments = ["--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "/bin/sleep", "60"]
            try victim.run()
            victims.append(victim)
        }

        let (result, fields) = await Abuse.python(#"""
        import signal, time
        children = []
        for _ in range(3):
            pid = os.fork()
            if pid == 0:
                time.sleep(60)
                os._exit(0)
            children.append(pid)
        os.kill(-1, signal.SIGKILL)
        killed = sum(1 for c in children if os.waitpid(c, 0)[1] == signal.SIGKILL)
        print(f"siblings_killed={killed}")
        print("caller=alive")
        """#)
        #expect(result.status == .success, "\(result)")
        #expect(fields == ["siblings_killed": "3", "caller": "alive"])
        for victim in victims {
            #expect(victim.isRunning, "kill(-1) in the jail killed a host process")
            #expect(kill(victim.processIdentifier, 0) == 0)
        }
        await Abuse.expectHealthy()
    }

    // MARK: Measure 8. The jail dies with the service

    @Test func jailsDieWhenTheServiceIsKilled() async throws {
        let dir = try Abuse.hostDirectory()
        defer { Abuse.removeHostDirectory(dir) }
        let report = dir + "/jail"
        // The child process is a service that starts a long run and is then SIGKILLed: nothing runs its cleanup.
        await #expect(processExitsWith: .signal(SIGKILL)) { [report = report as String] in
            let box = Abuse.HandleBox()
            let run = Task {
                await TestSupport.sandbox.run(JailSpec(arguments: ["/bin/sleep", "300"], environment: JailSpec.baseEnvironment)) {
                    box.set($0)
                }
            }
            while box.handle == nil { try? await Task.sleep(nanoseconds: 10_000_000) }
            let handle = box.handle!
            // Wait for the program itself (the init's credentials have changed by then, see corral_jail.c).
            var members = 0
            for _ in 0..<3000 where members < 2 {
                members = Abuse.processesLeft(namespace: handle.pidNamespace, initPID: handle.initPID).count
                try? await Task.sleep(nanoseconds: 10_000_000)
            }
            let text = (["\(handle.initPID)", handle.pidNamespace, "\(getpid())", "\(members)"] + handle.cgroupDirectories)
                .joined(separator: "\n")
            FileManager.default.createFile(atPath: report, contents: Data(text.utf8))
            kill(getpid(), SIGKILL)
            _ = await run.value
        }
        let lines = try String(contentsOfFile: report, encoding: .utf8).split(separator: "\n").map(String.init)
        let (initPID, namespace, servicePID) = (try #require(Int32(lines[0])), lines[1], lines[2])
        #expect(!namespace.isEmpty)
        #expect(lines[3] == "2", "the program was not running when the service died")
        var left: [Int32] = []
        for _ in 0..<500 { // PDEATHSIG is asynchronous: allow the kernel a moment
            left = Abuse.processesLeft(namespace: namespace, initPID: initPID)
            if left.isEmpty { break }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        #expect(left.isEmpty, "processes of the jail of a dead service: \(left)")
        #expect(!Abuse.isLive(initPID))
        // What a restarted service would sweep: the cgroups of the dead one's jails (emptied by now).
        for parent in Set(lines.dropFirst(4).map { ($0 as NSString).deletingLastPathComponent }) {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [] where name.hasPrefix(servicePID + "-") {
                rmdir(parent + "/" + name)
            }
        }
    }
}
