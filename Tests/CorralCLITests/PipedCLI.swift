import Foundation
import Synchronization

/// Runs `corral` with its stdout (and optionally stderr) read by `head -c 1`, a reader that
/// closes its end after one byte, and watches what the CLI leaves on the host.
enum PipedCLI {
    struct Outcome {
        var pid: Int32
        var status: Int32
        var reason: Process.TerminationReason
        /// What corral printed on stderr when stderr was a file (empty when it was piped to `head`).
        var stderr: String
        /// Children of the CLI seen while it ran: the jail inits it cloned (and any pooled stub).
        var children: Set<Int32>
    }

    /// Starts `corral arguments`, with `head -c 1` reading stdout, and stderr too when `closeStderr`.
    static func run(_ arguments: [String], closeStderr: Bool) async throws -> Outcome {
        guard let binary = CorralCLI.binary else {
            throw CorralCLI.CLITestError("the corral executable was not found next to the test bundle; build it (swift build)")
        }
        let dir = try CorralCLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let stderrFile = dir.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: stderrFile.path, contents: nil)

        let stdoutPipe = Pipe(), stderrPipe = Pipe()
        let readers = try ([stdoutPipe] + (closeStderr ? [stderrPipe] : [])).map { try headReader(of: $0) }
        let corral = Process()
        corral.executableURL = binary
        corral.arguments = arguments
        corral.currentDirectoryURL = dir
        corral.standardInput = FileHandle.nullDevice
        corral.standardOutput = stdoutPipe.fileHandleForWriting
        let stderrHandle = try FileHandle(forWritingTo: stderrFile)
        defer { try? stderrHandle.close() }
        corral.standardError = closeStderr ? stderrPipe.fileHandleForWriting : stderrHandle
        let finished = RunFlag()
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            corral.terminationHandler = { process in
                finished.set()
                continuation.resume(returning: process.terminationStatus)
            }
            do { try corral.run() } catch {
                corral.terminationHandler = nil
                continuation.resume(throwing: error)
                return
            }
            // Only `head` may hold the read ends, only corral the write ends: the pipes break when head exits.
            for pipe in [stdoutPipe, stderrPipe] {
                try? pipe.fileHandleForWriting.close()
                try? pipe.fileHandleForReading.close()
            }
            let pid = corral.processIdentifier
            Thread { watchChildren(of: pid, until: finished) }.start()
        }
        for reader in readers { reader.waitUntilExit() }
        return Outcome(pid: corral.processIdentifier, status: status, reason: corral.terminationReason,
                       stderr: String(decoding: (try? Data(contentsOf: stderrFile)) ?? Data(), as: UTF8.self),
                       children: ChildLog.shared.take(for: corral.processIdentifier))
    }

    /// `head -c 1` reading `pipe`, its output discarded.
    private static func headReader(of pipe: Pipe) throws -> Process {
        let head = Process()
        head.executableURL = URL(fileURLWithPath: "/usr/bin/head")
        head.arguments = ["-c", "1"]
        head.standardInput = pipe.fileHandleForReading
        head.standardOutput = FileHandle.nullDevice
        try head.run()
        return head
    }

    /// Polls /proc for children of `pid` until it has exited (a dedicated thread: /proc reads block).
    /// A CLI still running after a minute is stuck on its pipe: it is killed, and the test fails on its signal.
    private static func watchChildren(of pid: Int32, until finished: RunFlag) {
        let deadline = Date().addingTimeInterval(60)
        while !finished.isSet {
            for child in HostProcesses.children(of: pid) { ChildLog.shared.add(child, for: pid) }
            if Date() > deadline { kill(pid, SIGKILL); return }
            usleep(2_000)
        }
    }
}

/// Set once the watched process has exited.
final class RunFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}

/// Children seen per watched pid (filled by the watcher threads).
final class ChildLog: Sendable {
    static let shared = ChildLog()
    private let seen = Mutex<[Int32: Set<Int32>]>([:])
    func add(_ child: Int32, for pid: Int32) { seen.withLock { _ = $0[pid, default: []].insert(child) } }
    func take(for pid: Int32) -> Set<Int32> { seen.withLock { $0.removeValue(forKey: pid) ?? [] } }
}

/// What /proc and /sys/fs/cgroup say about processes and jails on this host.
enum HostProcesses {
    static func pids() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init)
    }

    /// Live (or zombie) processes whose parent is `pid`.
    static func children(of pid: Int32) -> [Int32] {
        pids().filter { parent(of: $0) == pid }
    }

    /// The parent pid from /proc/PID/stat (the field after the parenthesised command name).
    static func parent(of pid: Int32) -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? Int32(fields[1]) : nil
    }

    /// Whether `pid` still exists on the host, zombie or not.
    static func exists(_ pid: Int32) -> Bool {
        FileManager.default.fileExists(atPath: "/proc/\(pid)")
    }

    /// Processes whose environment holds `marker` (a program of the jail carries it in its env).
    static func carrying(_ marker: String) -> [Int32] {
        pids().filter { pid in
            guard let env = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
            return env.range(of: Data(marker.utf8)) != nil
        }
    }

    /// Jail cgroups of the process `pid` still on the host: `/sys/fs/cgroup[/CONTROLLER]/corral/PID-*`.
    static func cgroups(of pid: Int32) -> [String] {
        let root = "/sys/fs/cgroup"
        let hierarchies = [root] + ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).map { root + "/" + $0 }
        return hierarchies.flatMap { hierarchy -> [String] in
            let parent = hierarchy + "/corral"
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
            return entries.filter { $0.hasPrefix("\(pid)-") }.map { parent + "/" + $0 }
        }
    }
}
