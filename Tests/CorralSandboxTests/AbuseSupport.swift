import CorralRuntimes
import CorralSandbox
import CorralTestSupport
import Foundation
import Testing

/// Shared pieces of the abuse tests (SECURITY.md, "Abuse cases the test suite must contain"):
/// attack programs report what happened as `name=RESULT` lines, and every attack is followed
/// by a check that the service still runs programs and that the jail left nothing behind.
enum Abuse {
    /// Prepended to Python attacks. `call(name, nr, *args)` makes a raw syscall and prints
    /// `name=ok` or `name=ERRNO`; `attempt(name, fn)` does the same for a Python call.
    static let prelude = #"""
    import ctypes, errno, os, socket, sys
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    def name_of(e):
        return errno.errorcode.get(e, str(e))
    def call(name, nr, *args):
        ctypes.set_errno(0)
        r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
        if r == 0 and name.startswith("clone"):
            os._exit(0)  # a clone that got through: the child must not report twice
        print(f"{name}={'ok' if r >= 0 else name_of(ctypes.get_errno())}", flush=True)
        return r
    def attempt(name, fn):
        try:
            fn()
            print(f"{name}=ok", flush=True)
        except OSError as e:
            print(f"{name}={name_of(e.errno)}", flush=True)

    """#

    /// The `name=RESULT` lines of a program's output.
    static func fields(_ output: String) -> [String: String] {
        var fields: [String: String] = [:]
        for line in output.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            fields[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return fields
    }

    /// Runs a Python attack with the prelude and returns its result and `name=RESULT` lines.
    static func python(_ code: String, limits: ResourceLimits = ResourceLimits(), arguments: [String] = [],
                       network: Bool = false) async -> (RunResult, [String: String]) {
        let result = await TestSupport.run("python", prelude + code, limits: limits, arguments: arguments, network: network)
        return (result, fields(result.stdout))
    }

    /// The service still runs an ordinary program, with the ordinary result, after an attack.
    static func expectHealthy(sourceLocation: SourceLocation = #_sourceLocation) async {
        let result = await TestSupport.run("python", "print(1)")
        #expect(result.status == .success, "a run after the attack failed: \(result)", sourceLocation: sourceLocation)
        #expect(result.stdout == "1\n", sourceLocation: sourceLocation)
    }

    /// No process, cgroup or staging mount of the jail outlives its run (SECURITY.md measure 10).
    static func expectNothingLeft(_ handle: JailHandle, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(processesLeft(in: handle).isEmpty, "processes of the jail still run", sourceLocation: sourceLocation)
        #expect(TestSupport.cgroupsLeft(of: handle).isEmpty, "the jail's cgroup is still there", sourceLocation: sourceLocation)
        #expect(TestSupport.stagingLeftovers().isEmpty, "the staging directory is not empty", sourceLocation: sourceLocation)
    }

    /// Live host processes of the jail's PID namespace. Like `TestSupport.processesLeft(in:)`, but
    /// robust to reuse: the kernel hands out the lowest free namespace inode number, so under
    /// parallel runs a namespace freed a moment ago often goes at once to a newer jail, which has
    /// its own init (NSpid ending in 1). Zombies run nothing and are left out.
    /// Processes of the jail still alive. The sandbox returns a result once the program was reaped
    /// and its streams closed, and kills the init right after: this waits up to 2 s for that.
    static func processesLeft(in handle: JailHandle) -> [Int32] {
        var left: [Int32] = []
        for _ in 0..<200 {
            left = processesLeft(namespace: handle.pidNamespace, initPID: handle.initPID)
            if left.isEmpty { break }
            usleep(10_000)
        }
        return left
    }

    static func processesLeft(namespace: String, initPID: Int32) -> [Int32] {
        guard !namespace.isEmpty, let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        let members = entries.compactMap(Int32.init).filter {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\($0)/ns/pid")) == namespace && isLive($0)
        }
        let inits = members.filter { namespacePIDs(of: $0).last == 1 }
        return !inits.isEmpty && !inits.contains(initPID) ? [] : members
    }

    /// The `NSpid` line of `/proc/<pid>/status`: the pid in each namespace, outermost first.
    private static func namespacePIDs(of pid: Int32) -> [Int32] {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("NSpid:") }) else { return [] }
        return line.dropFirst("NSpid:".count).split(whereSeparator: \.isWhitespace).compactMap { Int32($0) }
    }

    /// Exists and is neither a zombie nor dead.
    static func isLive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return !stat[close...].hasPrefix(") Z") && !stat[close...].hasPrefix(") X")
    }

    /// A fresh world-readable host directory outside `/tmp` (which a jail's own tmpfs would hide).
    static func hostDirectory() throws -> String {
        var template = Array("/var/tmp/corral-abuse-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        let path = String(cString: template)
        chmod(path, 0o755)
        return path
    }

    static func removeHostDirectory(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Host uids the jail's root and its program run as, read from inside a jail (`/proc/self/uid_map`).
    static func jailHostIDs() async throws -> (insideRoot: UInt32, program: UInt32) {
        let result = await TestSupport.run("bash", "cat /proc/self/uid_map")
        var map: [UInt32: UInt32] = [:]
        for line in result.stdout.split(separator: "\n") {
            let parts = line.split(separator: " ").compactMap { UInt32($0) }
            if parts.count == 3 { map[parts[0]] = parts[1] }
        }
        return (try #require(map[0]), try #require(map[1000]))
    }

    /// Receives a jail's handle from `Sandbox.run(_:started:)` while the run goes on.
    final class HandleBox: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: JailHandle?
        func set(_ h: JailHandle) { lock.lock(); stored = h; lock.unlock() }
        var handle: JailHandle? { lock.lock(); defer { lock.unlock() }; return stored }
    }

    /// A random token that cannot appear in a program's output unless it was disclosed.
    static func secret() -> String { "corral-secret-" + UUID().uuidString }
}
