import CorralSandbox
import CorralTestSupport
import Foundation
import Glibc
import Testing

/// SECURITY.md abuse cases 9 and 14 and measure 3: what of the host's filesystem a program
/// can see, and whether any mount lets it gain privileges.
@Suite(.enabled(if: TestSupport.jailsAvailable))
struct AbuseFilesystemTests {
    // MARK: 9. Host secrets, the service's data, another sandbox's workspace

    @Test func hostSecretsAndServiceDataAreAbsent() async throws {
        let dir = try Abuse.hostDirectory()
        defer { Abuse.removeHostDirectory(dir) }
        try "secret".write(toFile: dir + "/file", atomically: false, encoding: .utf8)
        // Unsandboxed, all of these exist and root reads them.
        let (status, output) = TestSupport.hostShell("head -c1 /etc/shadow >/dev/null && test -d /root && test -d /run/corral && test -r \(dir)/file")
        #expect(status == 0, "\(output)")

        let (result, fields) = await Abuse.python(#"""
        for name, path in [("shadow", "/etc/shadow"), ("root", "/root"), ("run", "/run"), ("staging", "/run/corral"),
                           ("var", "/var"), ("data_dir", "/var/cache/corral"), ("home", "/home"), ("sys", "/sys"),
                           ("boot", "/boot"), ("host_file", "\#(dir)/file"), ("dev_mem", "/dev/mem"), ("dev_sda", "/dev/sda")]:
            attempt(name, lambda p=path: os.stat(p))
        print("etc=" + ",".join(sorted(os.listdir("/etc"))))
        print("users=" + ",".join(line.split(":")[0] for line in open("/etc/passwd")))
        print("dev=" + ",".join(sorted(os.listdir("/dev"))))
        print("pts=" + ",".join(sorted(os.listdir("/dev/pts"))))
        print("root_dir=" + ",".join(sorted(os.listdir("/"))))
        """#)
        #expect(result.status == .success, "\(result)")
        for name in ["shadow", "root", "run", "staging", "var", "data_dir", "home", "sys", "boot", "host_file", "dev_mem", "dev_sda"] {
            #expect(fields[name] == "ENOENT", "\(name) is visible in the jail: \(fields[name] ?? "?")")
        }
        #expect(fields["etc"] == "alternatives,group,hostname,hosts,ld.so.cache,localtime,nsswitch.conf,passwd,protocols,resolv.conf,services")
        #expect(fields["users"] == "root,corral,nobody")
        #expect(fields["dev"] == "fd,full,null,ptmx,pts,random,shm,stderr,stdin,stdout,tty,urandom,zero")
        // The jail's own devpts instance: none of the host's terminals.
        #expect(fields["pts"] == "ptmx")
        #expect(fields["root_dir"] == "bin,dev,etc,lib,lib64,proc,sbin,tmp,usr,workspace")
        await Abuse.expectHealthy()
    }

    @Test func anotherSandboxsWorkspaceIsUnreachable() async throws {
        let secret = Abuse.secret()
        let box = Abuse.HandleBox()
        var spec = JailSpec(arguments: ["/bin/bash", "-c", "echo \(secret) > /workspace/secret; sleep 120"],
                            environment: JailSpec.baseEnvironment)
        spec.limits.timeoutSeconds = 150
        let first = Task { await TestSupport.sandbox.run(spec) { box.set($0) } }
        defer { first.cancel() } // kills the first jail
        var handle: JailHandle?
        var hostView = ""
        let deadline = Date().addingTimeInterval(30) // a busy host may take a while to start the first jail
        while hostView.isEmpty && Date() < deadline {
            try await Task.sleep(nanoseconds: 10_000_000)
            handle = box.handle
            if let pid = handle?.initPID {
                hostView = (try? String(contentsOfFile: "/proc/\(pid)/root/workspace/secret", encoding: .utf8)) ?? ""
            }
        }
        // The first jail's workspace holds the secret: the host (root) sees it through the init's root.
        let initPID = try #require(handle?.initPID)
        #expect(hostView == secret + "\n")

        let (result, fields) = await Abuse.python(#"""
        attempt("by_host_pid", lambda: open("/proc/\#(initPID)/root/workspace/secret").read())
        found = []
        for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
            try:
                found += [pid] if "secret" in os.listdir(f"/proc/{pid}/root/workspace") else []
            except OSError:
                pass
        for top, dirs, files in os.walk("/"):
            if top == "/":
                dirs[:] = [d for d in dirs if d not in ("proc", "usr")]  # the read-only system cannot hold it
            found += [top for f in files if f == "secret"]
        print("found=" + ",".join(found))
        print("workspace=" + ",".join(sorted(os.listdir("/workspace"))))
        """#)
        #expect(fields["by_host_pid"] == "ENOENT")
        #expect(fields["found"] == "")
        #expect(fields["workspace"] == "main.py")
        #expect(!result.stdout.contains(secret))
        first.cancel()
        _ = await first.value
    }

    // MARK: 14. setuid binaries

    /// A binary owned by the jail's root (host uid 2000000 here), setuid and setgid. On the host it
    /// works; in the jail (nosuid binds, no_new_privs) it must run with the program's own ids.
    @Test func setuidBinaryGrantsNoPrivilege() async throws {
        let ids = try await Abuse.jailHostIDs()
        let dir = try Abuse.hostDirectory()
        defer { Abuse.removeHostDirectory(dir) }
        let binary = dir + "/id"
        try FileManager.default.copyItem(atPath: "/usr/bin/id", toPath: binary)
        #expect(chown(binary, ids.insideRoot, ids.insideRoot) == 0)
        #expect(chmod(binary, 0o6755) == 0)

        let (status, hostOutput) = TestSupport.hostShell("setpriv --reuid=65534 --regid=65534 --clear-groups \(binary) -u; setpriv --reuid=65534 --regid=65534 --clear-groups \(binary) -g")
        #expect(status == 0)
        #expect(hostOutput == "\(ids.insideRoot)\n\(ids.insideRoot)\n", "the setuid bit works unsandboxed")

        var spec = JailSpec(arguments: [binary], environment: JailSpec.baseEnvironment, readOnlyPaths: [dir])
        spec.limits.timeoutSeconds = 10
        let result = await TestSupport.sandbox.run(spec)
        #expect(result.status == .success, "\(result)")
        #expect(result.stdout == "uid=1000(corral) gid=1000(corral) groups=1000(corral)\n")
        await Abuse.expectHealthy()
    }

    @Test func chmodSetuidInTheWorkspaceGainsNothing() async {
        let (result, fields) = await Abuse.python(#"""
        import shutil, subprocess
        shutil.copy("/usr/bin/id", "/workspace/id")
        attempt("chmod", lambda: os.chmod("/workspace/id", 0o6755))
        attempt("chown_root", lambda: os.chown("/workspace/id", 0, 0))
        print("mode=" + oct(os.stat("/workspace/id").st_mode & 0o7777))
        print("id=" + subprocess.run(["/workspace/id"], capture_output=True, text=True).stdout.strip())
        print("setuid_root=" + subprocess.run(["setpriv", "--reuid=0", "true"], capture_output=True, text=True).stderr.strip())
        """#)
        #expect(result.status == .success, "\(result)")
        #expect(fields["chmod"] == "ok")
        #expect(fields["chown_root"] == "EPERM")
        #expect(fields["mode"] == "0o6755")
        #expect(fields["id"] == "uid=1000(corral) gid=1000(corral) groups=1000(corral)")
        #expect(fields["setuid_root"] == "setpriv: setresuid failed: Operation not permitted")
    }

    // MARK: Measure 3. Every mount nosuid; only the scratch filesystems writable

    @Test func mountsAreNosuidAndReadOnlyOutsideTheScratchFilesystems() async throws {
        let result = await TestSupport.run("python", "print(open('/proc/self/mountinfo').read(), end='')")
        let mounts = result.stdout.split(separator: "\n").map { line -> (point: String, options: Set<Substring>) in
            let fields = line.split(separator: " ")
            return (String(fields[4]), Set(fields[5].split(separator: ",")))
        }
        try #require(mounts.count > 10)
        // Device nodes, and the jail's private devpts (its terminals are device nodes it creates).
        let devices = Set(["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/pts"])
        let writable = Set(["/proc", "/dev", "/dev/shm", "/tmp", "/workspace"]).union(devices)
        for mount in mounts {
            #expect(mount.options.contains("nosuid"), "\(mount.point) is not nosuid")
            if !devices.contains(mount.point) && mount.point != "/dev" {
                #expect(mount.options.contains("nodev"), "\(mount.point) is not nodev")
            }
            if !writable.contains(mount.point) {
                #expect(mount.options.contains("ro"), "\(mount.point) is writable")
            }
            #expect(!mount.point.hasPrefix("/run"), "a host staging path is mounted: \(mount.point)")
        }
        #expect(mounts.first?.point == "/")
        #expect(Set(mounts.map(\.point)).isSuperset(of: ["/proc/sys", "/proc/irq", "/proc/bus"]))
        for knob in ["/proc/sys", "/proc/irq", "/proc/bus"] {
            #expect(mounts.first { $0.point == knob }?.options.contains("ro") == true)
        }
    }
}
