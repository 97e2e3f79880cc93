import CorralRuntimes
import CorralSandbox
import Foundation
import Synchronization

/// Shared fixtures for the test targets: one sandbox per test process, helpers
/// to run code in it, and checks that a run left nothing behind on the host.
public enum TestSupport {
    /// One sandbox for the whole test process (it is safe to use concurrently).
    public static let sandbox: Sandbox = {
        do { return try Sandbox() } catch { fatalError("the sandbox cannot start on this host: \(error)") }
    }()

    /// Which jails the shared runtime runs interpreted languages on: `cold` (a jail per run), `warm`
    /// (`CORRAL_TEST_JAIL_PATH=warm`: warm pools, and every run that can be warm must be), or `fork`
    /// (`CORRAL_TEST_JAIL_PATH=fork`: Python runs are forks of a fork-server's zygote and must be; the
    /// other languages warm). `scripts/test` runs the abuse, limit and concurrency suites on all three.
    public static let jailPath: String = ProcessInfo.processInfo.environment["CORRAL_TEST_JAIL_PATH"] ?? "cold"

    public static let runtime: Runtime = {
        guard jailPath == "warm" || jailPath == "fork" else { return Runtime(sandbox: sandbox) }
        var settings = WarmPoolSettings()
        if jailPath == "fork" { settings.forkServers = ["python"] }
        settings.maxPerLanguage = 8
        settings.prewarm = ["python", "javascript"]
        settings.idleSeconds = 3600
        settings.memoryBudgetMB = 512
        settings.waitForJailSeconds = 120
        return Runtime(sandbox: sandbox, warmPools: settings)
    }()

    /// Runs `request` through the shared runtime. On the warm path, a run that can be warm waits
    /// for a warm jail of its language and fails (an internal error saying so) if it ran cold.
    public static func run(_ request: RunRequest, started: (@Sendable (JailHandle) -> Void)? = nil) async -> RunResult {
        guard runtime.canRunWarm(request) else { return await runtime.run(request, started: started) }
        let box = HandleBox()
        let result = await runtime.run(request) { handle in
            box.set(handle)
            started?(handle)
        }
        let mustFork = runtime.warmPools?.forkServers?.languages.contains(request.language) == true
        guard box.get()?.warm == true, !mustFork || box.get()?.forked == true else {
            let pool = runtime.warmPools?.snapshot()[request.language]
            return .internalError("the test expected a \(mustFork ? "forked" : "warm") run, but it was not: \(String(describing: pool)); its result: \(result)")
        }
        return result
    }

    /// Whether this host can run jails (root, namespaces). Under CI every sandbox test must run.
    public static let jailsAvailable: Bool = geteuid() == 0 && FileManager.default.fileExists(atPath: "/proc/self/ns/user")

    /// Runs `code` in `language` through the runtimes.
    public static func run(_ language: String, _ code: String, stdin: String = "", limits: ResourceLimits = ResourceLimits(),
                           environment: [(key: String, value: String)] = [], arguments: [String] = [],
                           network: Bool = false) async -> RunResult {
        await run(RunRequest(language: language, code: code, arguments: arguments, stdin: Array(stdin.utf8),
                             environment: environment, limits: limits, network: network))
    }

    /// Runs `code` and returns the result together with the jail's handle.
    public static func runObserved(_ language: String, _ code: String, limits: ResourceLimits = ResourceLimits(),
                                   network: Bool = false) async -> (RunResult, JailHandle) {
        let box = HandleBox()
        let result = await run(RunRequest(language: language, code: code, limits: limits, network: network)) { handle in
            // Hold the PID namespace open: once freed, the kernel reuses its inode number at once,
            // and another jail could then look like a leftover of this one.
            pinnedNamespaces.withLock { $0.append(open("/proc/\(handle.initPID)/ns/pid", O_RDONLY | O_CLOEXEC)) }
            box.set(handle)
        }
        return (result, box.get()!)
    }

    /// Host processes still inside the jail's PID namespace (must be empty after a run).
    /// The sandbox returns a result once the program was reaped and its streams closed; the jail's
    /// init is then exiting, so this waits up to 2 s for the namespace to empty.
    public static func processesLeft(in handle: JailHandle) -> [Int32] {
        guard !handle.pidNamespace.isEmpty else { return [] }
        var left: [Int32] = []
        for _ in 0..<200 {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            left = entries.compactMap(Int32.init).filter { pid in
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/pid")) == handle.pidNamespace
            }
            if left.isEmpty { break }
            usleep(10_000)
        }
        return left
    }

    /// The jail's cgroup directories that still exist 2 s after its run returned (must be none). The
    /// sandbox removes them right after handing the result over, off the caller's path.
    public static func cgroupsLeft(of handle: JailHandle) -> [String] {
        var left: [String] = []
        for _ in 0..<200 {
            left = handle.cgroupDirectories.filter { FileManager.default.fileExists(atPath: $0) }
            if left.isEmpty { break }
            usleep(10_000)
        }
        return left
    }

    /// Mounts or files left in the host's staging directory (must be empty: jails build their root in their own mount namespace).
    public static func stagingLeftovers() -> [String] {
        let staging = sandbox.configuration.stagingRoot
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: staging)) ?? []
        let mounts = ((try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? "")
            .split(separator: "\n").filter { $0.contains(" \(staging)") }.map(String.init)
        return entries + mounts
    }

    /// Runs `program` with `/bin/sh -c` on the host, unsandboxed, and returns its exit status and output (to prove an attack works).
    public static func hostShell(_ program: String) -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", program]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch { return (-1, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// Descriptors of observed jails' PID namespaces, kept open for the test process's life.
let pinnedNamespaces = Mutex<[Int32]>([])

/// The jail handle a run's `started` callback saw.
public final class HandleBox: @unchecked Sendable {
    private let lock = NSLock()
    private var handle: JailHandle?
    public init() {}
    public func set(_ h: JailHandle) { lock.lock(); handle = h; lock.unlock() }
    public func get() -> JailHandle? { lock.lock(); defer { lock.unlock() }; return handle }
}
