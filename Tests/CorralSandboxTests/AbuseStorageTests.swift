import CorralSandbox
import CorralTestSupport
import Glibc
import Testing

/// SECURITY.md abuse cases 7 and 8: filling the writable filesystems and the descriptor table.
/// Each filesystem must fail with the precise errno at its configured size.
@Suite(.enabled(if: TestSupport.jailsAvailable))
struct AbuseStorageTests {
    /// Writes 1 MiB chunks to `path` until a write fails; prints the errno and the bytes that got in.
    private static func filler(_ path: String) -> String {
        #"""
        import errno, os
        fd = os.open("\#(path)", os.O_WRONLY | os.O_CREAT, 0o644)
        total = 0
        chunk = b"x" * (1 << 20)
        try:
            while True:
                total += os.write(fd, chunk)
        except OSError as e:
            print(f"error={errno.errorcode[e.errno]}")
        print(f"bytes={total}")
        """#
    }

    // MARK: 7. Fill /tmp, the workspace, /dev/shm; the file size limit

    @Test(arguments: ["/tmp/fill", "/dev/shm/fill"])
    func fillingATmpfsFailsWithENOSPCAtItsSize(path: String) async throws {
        var limits = ResourceLimits()
        limits.tmpMB = 8
        limits.fileSizeMB = 64
        let (result, fields) = await Abuse.python(Self.filler(path), limits: limits)
        #expect(result.status == .success, "\(result)")
        #expect(fields["error"] == "ENOSPC")
        let bytes = try #require(fields["bytes"].flatMap { Int($0) })
        #expect(bytes <= 8 << 20 && bytes >= 7 << 20, "\(bytes) bytes fit in an 8 MiB \(path)")
        await Abuse.expectHealthy()
    }

    @Test func fillingTheWorkspaceFailsWithENOSPCAtItsSize() async throws {
        var limits = ResourceLimits()
        limits.workspaceMB = 4
        limits.fileSizeMB = 64
        let (result, fields) = await Abuse.python(Self.filler("/workspace/fill"), limits: limits)
        #expect(result.status == .success, "\(result)")
        #expect(fields["error"] == "ENOSPC")
        let bytes = try #require(fields["bytes"].flatMap { Int($0) })
        #expect(bytes <= 4 << 20 && bytes >= 3 << 20, "\(bytes) bytes fit in a 4 MiB workspace")
        await Abuse.expectHealthy()
    }

    /// Python ignores SIGXFSZ, so the file size limit shows as EFBIG at exactly the limit.
    @Test func writingPastTheFileSizeLimitFailsWithEFBIG() async {
        var limits = ResourceLimits()
        limits.fileSizeMB = 2
        let (result, fields) = await Abuse.python(Self.filler("/tmp/big"), limits: limits)
        #expect(result.status == .success)
        #expect(fields["error"] == "EFBIG")
        #expect(fields["bytes"] == String(2 << 20))
        await Abuse.expectHealthy()
    }

    /// A program that keeps the default SIGXFSZ action dies of it, and the result names the limit.
    @Test func writingPastTheFileSizeLimitWithDefaultSignalsIsKilled() async {
        var limits = ResourceLimits()
        limits.fileSizeMB = 2
        let direct = await TestSupport.run("bash", "exec head -c 3M /dev/zero > /tmp/big", limits: limits)
        #expect(direct.errorMessage == "file size limit of 2 MB exceeded")
        #expect(direct.status == .killed)
        #expect(direct.signal == Int(SIGXFSZ))
        #expect(direct.limitExceeded == .fileSize)
        await Abuse.expectHealthy()
    }

    @Test func theReadOnlySystemCannotBeWritten() async {
        let (result, fields) = await Abuse.python("""
        attempt("usr", lambda: open("/usr/bin/corral-planted", "w"))
        attempt("etc", lambda: open("/etc/passwd", "a"))
        attempt("root", lambda: open("/planted", "w"))
        attempt("chmod_system_binary", lambda: os.chmod("/usr/bin/id", 0o4755))
        """)
        #expect(result.status == .success)
        #expect(fields == ["usr": "EROFS", "etc": "EROFS", "root": "EROFS", "chmod_system_binary": "EROFS"])
    }

    // MARK: 8. Open files until failure

    @Test func openingFilesFailsWithEMFILEAtTheLimit() async {
        var limits = ResourceLimits()
        limits.openFiles = 64
        let (result, fields) = await Abuse.python("""
        import resource
        print(f"rlimit={resource.getrlimit(resource.RLIMIT_NOFILE)}")
        held = []
        try:
            while True:
                held.append(os.open("/dev/null", os.O_RDONLY))
        except OSError as e:
            print(f"error={name_of(e.errno)}")
        print(f"opened={len(held)}")
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (65, 65))
            print("raise=ok")
        except ValueError as e:
            print(f"raise={e}")
        """, limits: limits)
        #expect(result.status == .success)
        #expect(fields["rlimit"] == "(64, 64)")
        #expect(fields["error"] == "EMFILE")
        #expect(fields["opened"] == "61") // 64 minus stdin, stdout, stderr: nothing else was inherited
        #expect(fields["raise"] == "not allowed to raise maximum limit")
        await Abuse.expectHealthy()
    }
}
