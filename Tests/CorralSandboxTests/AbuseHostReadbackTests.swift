import CorralRuntimes
import CorralSandbox
import CorralTestSupport
import Foundation
import Glibc
import Testing

/// SECURITY.md abuse case 18 and measure 11: a program replaces files the host writes or reads
/// (its source, its output, its compiled artifacts) with symlinks to host files. Sources are
/// written by the jail's own init inside a tmpfs, so symlinks resolve in the jail; compile
/// output is copied back by the host as hostile input; artifacts are shared through the cache.
@Suite(.enabled(if: TestSupport.jailsAvailable))
struct AbuseHostReadbackTests {
    /// A host file with a random secret, and what must stay true of it.
    private struct HostSecret {
        let directory: String
        let path: String
        let secret = Abuse.secret()
        init() throws {
            directory = try Abuse.hostDirectory()
            path = directory + "/secret"
            try secret.write(toFile: path, atomically: false, encoding: .utf8)
            chmod(path, 0o644)
        }
        func expectUntouched(disclosedIn outputs: [String], sourceLocation: SourceLocation = #_sourceLocation) {
            let content = try? String(contentsOfFile: path, encoding: .utf8)
            #expect(content == secret, "the host file was modified", sourceLocation: sourceLocation)
            #expect(isRegularFile(path), sourceLocation: sourceLocation)
            for output in outputs {
                #expect(!output.contains(secret), "the host file was disclosed", sourceLocation: sourceLocation)
            }
        }
    }

    @Test func sourceAndOutputReplacedBySymlinksToHostFiles() async throws {
        let host = try HostSecret()
        defer { Abuse.removeHostDirectory(host.directory) }
        let (result, fields) = await Abuse.python(#"""
        target = "\#(host.path)"
        os.remove("/workspace/main.py")
        os.symlink(target, "/workspace/main.py")
        attempt("read_through_source", lambda: print(open("/workspace/main.py").read()))
        attempt("write_through_source", lambda: open("/workspace/main.py", "w").write("pwned"))
        os.symlink(target, "/tmp/output")
        attempt("write_through_output", lambda: open("/tmp/output", "w").write("pwned"))
        attempt("hardlink", lambda: os.link(target, "/workspace/hardlink"))
        os.symlink("/etc/passwd", "/workspace/passwd")
        print("passwd_users=" + ",".join(l.split(":")[0] for l in open("/workspace/passwd")))
        """#)
        #expect(result.status == .success, "\(result)")
        #expect(fields == [
            "read_through_source": "ENOENT", "write_through_source": "ENOENT", "write_through_output": "ENOENT",
            "hardlink": "ENOENT", "passwd_users": "root,corral,nobody", // symlinks resolve in the jail's own tree
        ])
        host.expectUntouched(disclosedIn: [result.stdout, result.stderr])
        await Abuse.expectHealthy()
    }

    /// The compiler runs in a jail that writes `/out`, a host tmpfs the host then copies into the
    /// compile cache. `-wrapper` (compiler options are passed literally) runs a shell instead of the
    /// compiler, which plants a symlink to a host file, a symlink to `/`, a FIFO and a device-less
    /// regular file. The host must copy only the regular file, never follow or open the rest.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/gcc")))
    func compileOutputWithSymlinksAndFIFOsIsCopiedAsHostileInput() async throws {
        let host = try HostSecret()
        defer { Abuse.removeHostDirectory(host.directory) }
        let runtime = Runtime(sandbox: TestSupport.sandbox, compileCache: CompileCache(root: host.directory + "/cache"))
        let plant = "ln -sf \(host.path) /out/main; ln -s / /out/root; mkfifo /out/fifo; echo artifact > /out/regular; exit 0"
        var request = RunRequest(language: "c", code: "int main(void) { return 0; }\n")
        request.compilerOptions = ["-wrapper", "/bin/sh,-c,\(plant),sh"]
        let result = await runtime.run(request)
        #expect(result.compile?.status == .success, "\(result)")
        #expect(result.status != .success, "the planted symlink ran as the program")
        host.expectUntouched(disclosedIn: [result.stdout, result.stderr, result.errorMessage ?? "", result.compile?.stderr ?? ""])

        // Only the regular file reached the cache; nothing in it links anywhere or blocks a reader.
        let cache = host.directory + "/cache"
        let entries = try FileManager.default.contentsOfDirectory(atPath: cache).filter { !$0.hasPrefix(".") }
        let entry = try #require(entries.first)
        #expect(entries.count == 1)
        let artifacts = try FileManager.default.contentsOfDirectory(atPath: cache + "/" + entry)
        #expect(artifacts == ["regular"])
        #expect(isRegularFile(cache + "/" + entry + "/regular"))
        await Abuse.expectHealthy()
    }

    /// Compiled artifacts are shared by every request with the same program: a run that could
    /// replace them would plant code in other users' runs. `/out` is read-only in the run jail.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/gcc")))
    func compiledArtifactsCannotBeReplacedByTheirRun() async throws {
        let dir = try Abuse.hostDirectory()
        defer { Abuse.removeHostDirectory(dir) }
        let runtime = Runtime(sandbox: TestSupport.sandbox, compileCache: CompileCache(root: dir + "/cache"))
        let program = #"""
        #define _GNU_SOURCE
        #include <errno.h>
        #include <fcntl.h>
        #include <stdio.h>
        #include <string.h>
        #include <unistd.h>
        static const char *outcome(int r) { return r < 0 ? strerrorname_np(errno) : "ok"; }
        int main(void) {
            printf("write_artifact=%s\n", outcome(open("/out/main", O_WRONLY | O_TRUNC)));
            printf("unlink_artifact=%s\n", outcome(unlink("/out/main")));
            printf("plant_symlink=%s\n", outcome(symlink("/etc/passwd", "/out/planted")));
            printf("plant_file=%s\n", outcome(open("/out/planted2", O_WRONLY | O_CREAT, 0755)));
            return 0;
        }
        """#
        let first = await runtime.run(RunRequest(language: "c", code: program))
        #expect(first.status == .success, "\(first)")
        #expect(Abuse.fields(first.stdout) == [
            "write_artifact": "EROFS", "unlink_artifact": "EROFS", "plant_symlink": "EROFS", "plant_file": "EROFS",
        ])
        let second = await runtime.run(RunRequest(language: "c", code: program))
        #expect(second.compile?.cached == true)
        #expect(second.stdout == first.stdout)
    }
}

/// A regular file, not a symlink to one.
private func isRegularFile(_ path: String) -> Bool {
    var st = stat()
    return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
}
