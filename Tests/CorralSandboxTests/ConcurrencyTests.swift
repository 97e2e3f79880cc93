import CorralRuntimes
import CorralSandbox
import CorralTestSupport
import Foundation
import Testing

/// Issue 2, acceptance 4: many runs at once through the library API, each
/// with its own correct output, nothing of them left behind, none seeing another.
@Suite("Concurrency", .enabled(if: TestSupport.jailsAvailable))
struct ConcurrencyTests {
    /// A program in one of the three languages that prints its index and a value computed from it.
    static func program(_ index: Int) -> (language: String, code: String) {
        switch index % 3 {
        case 0: ("python", "n = \(index)\nprint(n, sum(i * i for i in range(n * 1000)))")
        case 1: ("bash", "n=\(index); s=0; for ((i = 0; i < n * 100; i++)); do s=$((s + i)); done; echo $n $s")
        default: ("javascript", "const n = \(index); let s = 1n; for (let i = 1n; i <= BigInt(n); i++) s *= i; console.log(n, s.toString())")
        }
    }

    static func expectedOutput(_ index: Int) -> String {
        switch index % 3 {
        case 0:
            let m = index * 1000
            return "\(index) \((0..<m).reduce(0) { $0 + $1 * $1 })\n"
        case 1:
            let m = index * 100
            return "\(index) \(m * (m - 1) / 2)\n"
        default:
            return "\(index) \(factorial(index))\n"
        }
    }

    /// n! in decimal, for n up to a few dozen (beyond 64 bits).
    static func factorial(_ n: Int) -> String {
        var digits = [1] // little-endian base 10
        for k in stride(from: 2, through: max(n, 1), by: 1) {
            var carry = 0
            for i in digits.indices {
                let v = digits[i] * k + carry
                digits[i] = v % 10
                carry = v / 10
            }
            while carry > 0 { digits.append(carry % 10); carry /= 10 }
        }
        return digits.reversed().map(String.init).joined()
    }

    /// What a leftover process is, for the failure message.
    static func describe(_ pid: Int32) -> String {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let fields = status.split(separator: "\n").filter { ["Name", "State", "PPid", "NSpid"].contains($0.split(separator: ":").first ?? "") }
        return "\(pid) [\(fields.joined(separator: ", "))]"
    }

    @Test func thirtyTwoConcurrentRunsSucceedWithTheirOwnOutputAndLeaveNothing() async {
        let count = 32
        let results = await withTaskGroup(of: (Int, RunResult, PinnedJail).self) { group in
            for index in 0..<count {
                group.addTask {
                    let (language, code) = Self.program(index)
                    let (result, jail) = await PinnedJail.run(language, code)
                    return (index, result, jail)
                }
            }
            var all: [(Int, RunResult, PinnedJail)] = []
            for await r in group { all.append(r) }
            return all.sorted { $0.0 < $1.0 }
        }
        #expect(results.count == count)
        defer { results.forEach { $0.2.unpin() } }
        for (index, result, jail) in results {
            let handle = jail.handle
            #expect(result.status == .success, "run \(index) (\(Self.program(index).language)): \(result.status) \(result.errorMessage ?? "") \(result.stderr)")
            #expect(result.stdout == Self.expectedOutput(index), "run \(index)")
            #expect(result.exitCode == 0)
            let left = TestSupport.processesLeft(in: handle)
            #expect(left.isEmpty, "run \(index) (init \(handle.initPID), \(handle.pidNamespace)) left processes: \(left.map(Self.describe))")
            #expect(TestSupport.cgroupsLeft(of: handle).isEmpty, "run \(index) left cgroups")
        }
        #expect(Set(results.map(\.2.handle.initPID)).count == count, "each run has its own jail")
        #expect(Set(results.map(\.2.handle.pidNamespace)).count == count, "each run has its own PID namespace")
        #expect(TestSupport.stagingLeftovers().isEmpty)
    }

    @Test func concurrentRunsNeverSeeEachOthersFilesOrProcesses() async {
        let count = 8
        let outputs = await withTaskGroup(of: (Int, RunResult).self) { group in
            for index in 0..<count {
                group.addTask {
                    // Write markers, stay alive while the others write theirs, then look around.
                    // The jails share the host's realtime clock: the times prove the runs overlapped.
                    let code = """
                    import os, time
                    for d in ("/tmp", "/workspace"):
                        with open(f"{d}/mark-\(index)", "w") as f:
                            f.write("\(index)")
                    print(repr(time.time()))
                    time.sleep(1.5)
                    print(repr(time.time()))
                    print(sorted(os.listdir("/tmp")))
                    print(sorted(n for n in os.listdir("/workspace") if n.startswith("mark-")))
                    print(len([p for p in os.listdir("/proc") if p.isdigit()]))
                    """
                    return (index, await TestSupport.run("python", code))
                }
            }
            var all: [(Int, RunResult)] = []
            for await r in group { all.append(r) }
            return all.sorted { $0.0 < $1.0 }
        }
        var markedAt: [Int: Double] = [:], lookedAt: [Int: Double] = [:]
        for (index, r) in outputs {
            #expect(r.status == .success, "run \(index): \(r.stderr)")
            let lines = r.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 5, "run \(index): \(r.stdout)")
            guard lines.count == 5 else { continue }
            markedAt[index] = Double(lines[0])
            lookedAt[index] = Double(lines[1])
            #expect(lines[2] == "['mark-\(index)']", "run \(index) sees in /tmp: \(lines[2])")
            #expect(lines[3] == "['mark-\(index)']", "run \(index) sees in /workspace: \(lines[3])")
            // The jail's init and the program: no process of another run is visible.
            #expect((Int(lines[4]) ?? 99) <= 2, "run \(index) sees \(lines[4]) processes")
        }
        // Each run looked after at least one other had written its markers: had they shared a
        // /tmp or a workspace, it would have seen them.
        for (index, looked) in lookedAt {
            let writtenBefore = markedAt.filter { $0.key != index && $0.value < looked }
            #expect(!writtenBefore.isEmpty, "run \(index) overlapped no other run; the test proves nothing")
        }
    }

    @Test func aLimitTrippingInOneRunDoesNotDisturbTheOthers() async {
        let results = await withTaskGroup(of: (String, RunResult).self) { group in
            group.addTask {
                var limits = ResourceLimits()
                limits.memoryMB = 32
                return ("memory", await TestSupport.run("python", "b = bytearray(b'\\1') * (256 << 20)", limits: limits))
            }
            group.addTask {
                var limits = ResourceLimits()
                limits.outputBytes = 100
                return ("output", await TestSupport.run("bash", "yes", limits: limits))
            }
            group.addTask {
                var limits = ResourceLimits()
                limits.timeoutSeconds = 0.5
                return ("timeout", await TestSupport.run("bash", "sleep 10", limits: limits))
            }
            for i in 0..<6 {
                group.addTask { ("ok\(i)", await TestSupport.run("python", "print(\(i) * 7)")) }
            }
            var all: [String: RunResult] = [:]
            for await (name, r) in group { all[name] = r }
            return all
        }
        #expect(results["memory"]?.status == .memoryLimit)
        #expect(results["output"]?.status == .outputLimit)
        #expect(results["timeout"]?.status == .timeout)
        for i in 0..<6 {
            #expect(results["ok\(i)"]?.status == .success, "\(String(describing: results["ok\(i)"]))")
            #expect(results["ok\(i)"]?.stdout == "\(i * 7)\n")
            #expect(results["ok\(i)"]?.limitExceeded == nil)
        }
    }
}

/// A run's jail handle with its PID namespace held open. The kernel reuses a freed namespace's
/// inode number at once, so without the pin a later jail (a pooled stub, a concurrent run) could
/// share the `pid:[inode]` name and be counted as this run's leftover.
final class PinnedJail: @unchecked Sendable {
    private let lock = NSLock()
    private var pinned: JailHandle?
    private var namespaceFD: Int32 = -1

    var handle: JailHandle { lock.withLock { pinned! } }

    /// Runs `code` through the runtimes and the sandbox, pinning the jail's PID namespace before its program starts.
    static func run(_ language: String, _ code: String) async -> (RunResult, PinnedJail) {
        let runtime = TestSupport.runtime
        let spec = runtime.jailSpec(for: RunRequest(language: language, code: code),
                                    language: runtime.catalog.language(named: language)!)
        let jail = PinnedJail()
        let result = await TestSupport.sandbox.run(spec) { handle in
            let fd = open("/proc/\(handle.initPID)/ns/pid", O_RDONLY | O_CLOEXEC)
            jail.lock.withLock { jail.pinned = handle; jail.namespaceFD = fd }
        }
        return (result, jail)
    }

    func unpin() {
        lock.withLock {
            if namespaceFD >= 0 { close(namespaceFD) }
            namespaceFD = -1
        }
    }
}
