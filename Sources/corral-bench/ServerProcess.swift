import CorralClient
import Foundation
import Glibc

/// A `corral serve` started by the bench. It is spawned from a dedicated thread that then
/// waits for it (through `setpriv --pdeathsig KILL` when available): whatever ends the
/// bench — an error, a crash, Ctrl-C — the server is killed with it.
final class ServerProcess: @unchecked Sendable {
    let pid: pid_t
    let logPath: String
    private(set) var port = 0
    private let lock = NSLock()
    private var exitStatus: Int32?
    private let exited = DispatchSemaphore(value: 0)

    struct StartFailure: Error, CustomStringConvertible {
        var description: String
    }

    private init(pid: pid_t, logPath: String) {
        self.pid = pid
        self.logPath = logPath
    }

    /// Starts `binary serve ARGS --port 0`, stdout and stderr to `logPath`, and waits (at most
    /// `timeout` seconds) until it logs the port it listens on and `/readyz` answers 200.
    static func start(binary: String, arguments: [String], logPath: String, timeout: Double) async throws -> ServerProcess {
        let setpriv = "/usr/bin/setpriv"
        let argv = (access(setpriv, X_OK) == 0 ? [setpriv, "--pdeathsig", "KILL", "--"] : [])
            + [binary, "serve"] + arguments + ["--port", "0"]
        let spawned: (pid: pid_t, error: Int32, process: ServerProcess?) = await withCheckedContinuation { continuation in
            let thread = Thread {
                var actions = posix_spawn_file_actions_t()
                posix_spawn_file_actions_init(&actions)
                defer { posix_spawn_file_actions_destroy(&actions) }
                posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
                posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
                posix_spawn_file_actions_adddup2(&actions, 1, 2)
                let cArgs = argv.map { strdup($0) } + [nil]
                var environment = ProcessInfo.processInfo.environment
                environment["CORRAL_LOG_LEVEL"] = nil
                let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
                defer { (cArgs + cEnv).forEach { free($0) } }
                var pid: pid_t = 0
                let rc = posix_spawn(&pid, argv[0], &actions, nil, cArgs, cEnv)
                guard rc == 0 else {
                    continuation.resume(returning: (0, rc, nil))
                    return
                }
                let process = ServerProcess(pid: pid, logPath: logPath)
                continuation.resume(returning: (pid, 0, process))
                // This thread is the server's parent until it ends (the death signal follows the parent thread).
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                process.lock.withLock { process.exitStatus = status }
                process.exited.signal()
            }
            thread.name = "corral-serve-reaper"
            thread.start()
        }
        guard let process = spawned.process else {
            throw StartFailure(description: "cannot start \(binary): \(String(cString: strerror(spawned.error)))")
        }
        do {
            try await process.waitUntilReady(timeout: timeout)
        } catch {
            await process.stop(graceSeconds: 2)
            throw error
        }
        return process
    }

    /// The server's log so far (its stdout and stderr).
    func log() -> String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    /// The last `lines` lines of the log, for error messages.
    func logTail(_ lines: Int = 40) -> String {
        let all = log().split(separator: "\n", omittingEmptySubsequences: false)
        return all.suffix(lines).joined(separator: "\n")
    }

    /// The raw wait status once the server has ended.
    var status: Int32? { lock.withLock { exitStatus } }
    var isRunning: Bool { status == nil }

    /// "exited with status N" / "killed by signal N".
    var statusDescription: String {
        guard let s = status else { return "running" }
        return s & 0x7f == 0 ? "exited with status \((s >> 8) & 0xff)" : "killed by signal \(s & 0x7f)"
    }

    private func waitUntilReady(timeout: Double) async throws {
        let deadline = SpawnTimer.monotonicNanoseconds() + UInt64(timeout * 1e9)
        func fail(_ what: String) -> StartFailure {
            StartFailure(description: "corral serve (pid \(pid)) \(what); its output (\(logPath)):\n\(logTail())")
        }
        // The port: `--port 0` picks a free one, which the server logs as "listening" with its URL.
        while port == 0 {
            if !isRunning { throw fail("\(statusDescription) before listening") }
            if SpawnTimer.monotonicNanoseconds() > deadline { throw fail("did not log a listening URL within \(Int(timeout)) s") }
            for line in log().split(separator: "\n") where line.contains("\"listening\"") {
                if let range = line.range(of: "http://127.0.0.1:") {
                    let digits = line[range.upperBound...].prefix(while: \.isNumber)
                    if let p = Int(digits), p > 0 { port = p }
                }
            }
            if port == 0 { try await Task.sleep(for: .milliseconds(50)) }
        }
        // Ready: /readyz answers 200.
        var last = "no answer"
        while true {
            if !isRunning { throw fail("\(statusDescription) before it was ready") }
            if SpawnTimer.monotonicNanoseconds() > deadline { throw fail("was not ready within \(Int(timeout)) s (/readyz: \(last))") }
            let answer: String = await onThread { [port] in
                let connection = HTTPConnection(port: port, timeout: 5)
                do throws(HTTPConnection.Failure) {
                    let response = try connection.request("GET", "/readyz")
                    return response.status == 200 ? "ok" : "HTTP \(response.status) \(response.text.prefix(200))"
                } catch { return "\(error)" }
            }
            if answer == "ok" { return }
            last = answer
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    func signal(_ number: Int32) {
        if isRunning { kill(pid, number) }
    }

    /// Waits at most `seconds` for the server to end; whether it did.
    func waitForExit(seconds: Double) async -> Bool {
        await onThread { [exited] in
            if exited.wait(timeout: .now() + seconds) == .success {
                exited.signal() // leave it signalled for later waits
                return true
            }
            return false
        }
    }

    /// SIGTERM, then SIGKILL if it has not ended after `graceSeconds`; waits for it to be reaped.
    /// Returns how long it took to end after SIGTERM, and whether SIGKILL was needed.
    @discardableResult
    func stop(graceSeconds: Double) async -> (seconds: Double, killed: Bool) {
        let start = SpawnTimer.monotonicNanoseconds()
        guard isRunning else { return (0, false) }
        signal(SIGTERM)
        if await waitForExit(seconds: graceSeconds) {
            return (Double(SpawnTimer.monotonicNanoseconds() - start) / 1e9, false)
        }
        signal(SIGKILL)
        _ = await waitForExit(seconds: 10)
        return (Double(SpawnTimer.monotonicNanoseconds() - start) / 1e9, true)
    }

    /// `VmRSS` (and the peak, `VmHWM`) of the server from /proc, in KiB.
    func memory() -> (rssKB: Int, peakKB: Int)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        func field(_ name: String) -> Int? {
            text.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                .flatMap { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first }
                .flatMap { Int($0) }
        }
        guard let rss = field("VmRSS") else { return nil }
        return (rss, field("VmHWM") ?? rss)
    }

    /// PSS (`/proc/PID/smaps_rollup`) of the server and every process below it, in KiB: each
    /// shared page counted once over all of them (forks of one zygote share most of theirs, which a
    /// sum of RSS counts once per process).
    func treePSSKB() -> Int? {
        func pss(_ p: pid_t) -> Int? {
            guard let text = try? String(contentsOfFile: "/proc/\(p)/smaps_rollup", encoding: .utf8) else { return nil }
            return text.split(separator: "\n").first { $0.hasPrefix("Pss:") }
                .flatMap { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first }
                .flatMap { Int($0) }
        }
        guard let own = pss(pid) else { return nil }
        return own + descendants().compactMap(pss).reduce(0, +)
    }

    /// RSS of every descendant process (the sandbox's pooled jail stubs), in KiB, and how many.
    func descendantsRSS() -> (kb: Int, processes: Int) {
        let rss = Dictionary(uniqueKeysWithValues: processTable().map { ($0.pid, $0.rssKB) })
        let below = descendants()
        return (below.compactMap { rss[$0] }.reduce(0, +), below.count)
    }

    /// The processes below the server.
    func descendants() -> [pid_t] {
        let table = processTable()
        let parent = Dictionary(uniqueKeysWithValues: table.map { ($0.pid, $0.ppid) })
        var below: [pid_t] = []
        for entry in table where entry.pid != pid {
            var q = parent[entry.pid]
            var depth = 0
            while let current = q, current > 1, depth < 64 {
                if current == pid { below.append(entry.pid); break }
                q = parent[current]
                depth += 1
            }
        }
        return below
    }

    /// Every process's pid, parent and RSS (KiB) from /proc/PID/stat.
    private func processTable() -> [(pid: pid_t, ppid: pid_t, rssKB: Int)] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        let pageKB = Int(sysconf(Int32(_SC_PAGESIZE))) / 1024
        var table: [(pid: pid_t, ppid: pid_t, rssKB: Int)] = []
        for entry in entries {
            guard let p = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // After "(comm)": state, ppid, … rss is field 24 of the line, index 21 here.
            guard fields.count > 21, let pp = pid_t(fields[1]), let pages = Int(fields[21]) else { continue }
            table.append((p, pp, pages * pageKB))
        }
        return table
    }
}

/// Runs blocking `work` on a new thread (not the Swift concurrency pool) and returns its value.
func onThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: work()) }
        thread.start()
    }
}
