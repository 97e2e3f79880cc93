import CorralSandbox
import CorralTestSupport
import Foundation
import Testing

/// Real programs: CPython's own regression tests (Debian's libpython3.11-testsuite, installed by
/// scripts/bootstrap) run inside one jail. They exercise what a jail is most likely to break —
/// terminals, signals, sockets, subprocesses, users and groups, services — so a module that
/// fails here names a gap in the jail, unless it is listed below with the reason it must fail.
@Suite(.enabled(if: TestSupport.jailsAvailable && FileManager.default.fileExists(atPath: "/usr/lib/python3.11/test/__main__.py")))
struct CPythonRegressionTests {
    static let modules = [
        "test_os", "test_asyncio", "test_pty", "test_socket", "test_subprocess", "test_signal", "test_tempfile",
        "test_shutil", "test_json", "test_re", "test_threading", "test_select", "test_fcntl", "test_getpass",
        "test_pwd", "test_grp", "test_resource", "test_posix", "test_time",
    ]

    /// Modules that fail by design, with the measure that makes them fail.
    static let expectedFailures = [
        // RLIMIT_FSIZE is the run's file-size limit (the test expects "unlimited"), and a jailed
        // program may not raise a hard limit (the test raises RLIMIT_CPU's).
        "test_resource": "the run's rlimits are limits: RLIMIT_FSIZE is the file-size cap, hard limits cannot be raised",
    ]

    @Test func cpythonsOwnTestsPassInAJail() async {
        var limits = ResourceLimits()
        limits.timeoutSeconds = 240
        limits.memoryMB = 2048
        limits.processes = 512
        limits.cpuPercent = 100 * ResourceLimits.hostCores
        let result = await TestSupport.run("python", """
        import subprocess, sys
        r = subprocess.run([sys.executable, "-m", "test", "-j2", "--timeout", "180", *sys.argv[1:]], capture_output=True, text=True)
        print(r.stdout[-6000:])
        """, limits: limits, arguments: Self.modules)
        #expect(result.status == .success, "\(result.status): \(result.errorMessage ?? "")")
        let failed = Self.failedModules(result.stdout)
        let unexpected = failed.subtracting(Self.expectedFailures.keys)
        #expect(unexpected.isEmpty, "CPython tests that fail in a jail: \(unexpected.sorted())\n\(result.stdout)")
        #expect(result.stdout.contains("tests OK"), "no summary in the output: \(result.stdout)")
        // Every module ran: none was skipped for want of something the jail lacks.
        #expect(!result.stdout.contains("skipped (resource denied)"), "\(result.stdout)")
    }

    /// The modules listed under "N tests failed:" (and "failed again") in regrtest's summary.
    static func failedModules(_ output: String) -> Set<String> {
        var failed = Set<String>()
        var inList = false
        for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.contains("failed:") || line.contains("failed again:") { inList = true; continue }
            if inList {
                let words = line.split(separator: " ").map(String.init)
                if words.isEmpty || !line.hasPrefix("    ") { inList = false; continue }
                failed.formUnion(words.filter { $0.hasPrefix("test_") })
            }
        }
        return failed
    }
}
