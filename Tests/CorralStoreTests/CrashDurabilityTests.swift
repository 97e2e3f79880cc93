import CorralStore
import Foundation
import Testing

/// A row whose `record` returned survives a SIGKILL of the writing process.
///
/// The test re-executes its own test binary with a filter that runs only
/// `childWriter`, which records rows and writes each id to stdout (with
/// write(2), unbuffered) once `record` has returned. The parent kills it
/// mid-stream, then reopens the file and looks for every acknowledged id.
@Suite("Crash durability", .serialized)
struct CrashDurabilityTests {
    static let childVariable = "CORRAL_STORE_CRASH_CHILD_DB"
    static let childPath = ProcessInfo.processInfo.environment[childVariable]

    @Test("SIGKILL mid-stream loses no row whose record had returned")
    func sigkillLosesNoAcknowledgedRow() async throws {
        try #require(Self.childPath == nil, "the parent half must not run in the child")
        let root = HistoryFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let path = root + "/history.sqlite"

        let child = Process()
        child.executableURL = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        child.arguments = ["--testing-library", "swift-testing", "--filter", "CrashDurabilityTests/childWriter"]
        child.environment = ProcessInfo.processInfo.environment.merging([Self.childVariable: path]) { $1 }
        let output = Pipe()
        child.standardOutput = output
        child.standardError = FileHandle.nullDevice
        child.standardInput = FileHandle.nullDevice
        try child.run()
        let pid = child.processIdentifier
        let acknowledged = await AcknowledgementReader.read(output.fileHandleForReading, killAfter: 500, pid: pid)
        child.waitUntilExit()

        #expect(child.terminationReason == .uncaughtSignal && child.terminationStatus == SIGKILL,
                "the child must die by SIGKILL mid-stream, not finish (\(child.terminationReason), \(child.terminationStatus))")
        #expect(acknowledged.count >= 500)
        let store = try SQLiteHistoryStore(path: path)
        var missing: [String] = []
        for id in acknowledged where try await store.execution(id: id) == nil { missing.append(id) }
        #expect(missing.isEmpty, "acknowledged but lost: \(missing.prefix(10))")
        let stored = try await store.summary().total
        #expect(stored >= acknowledged.count)
        print("crash durability: \(acknowledged.count) rows acknowledged before SIGKILL, \(stored) rows in the file after reopening")

        // The same check with an independent SQLite, when the CLI is installed.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3") {
            let (status, text) = TestShell.run("/usr/bin/sqlite3", [path, "SELECT COUNT(*) FROM executions"])
            #expect(status == 0)
            #expect((Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) >= acknowledged.count, "\(text)")
        }
    }

    /// The child half: enabled only in the process the test above spawns.
    @Test("(child process) record rows and acknowledge each", .enabled(if: childPath != nil))
    func childWriter() async throws {
        let store = try SQLiteHistoryStore(path: try #require(Self.childPath))
        let deadline = ContinuousClock.now + .seconds(60)  // in case the parent died
        // Several writers at once, as under load, so the kill lands among commits in flight.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<4 {
                group.addTask {
                    var i = 0
                    while ContinuousClock.now < deadline {
                        let id = "crash-\(writer)-\(i)"
                        try await store.record(HistoryFixtures.record(id, at: Date(), stdout: String(repeating: "o", count: 200)))
                        // One write(2) per line: atomic on a pipe, and not buffered in this process.
                        let line = Array("\(id)\n".utf8)
                        _ = line.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
                        i += 1
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}

/// Reads acknowledged ids on a dedicated thread (the reads block), sends
/// SIGKILL once `killAfter` have arrived, then keeps reading to end of file:
/// ids written before the kill count too.
enum AcknowledgementReader {
    static func read(_ handle: FileHandle, killAfter: Int, pid: Int32) async -> [String] {
        await withCheckedContinuation { (done: CheckedContinuation<[String], Never>) in
            Thread {
                var ids: [String] = []
                var partial = Data()
                var killed = false
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    partial.append(chunk)
                    // Only complete lines are acknowledgements.
                    while let newline = partial.firstIndex(of: UInt8(ascii: "\n")) {
                        let line = String(decoding: partial[partial.startIndex..<newline], as: UTF8.self)
                        if line.hasPrefix("crash-") { ids.append(line) }  // not swift-testing's own output
                        partial.removeSubrange(partial.startIndex...newline)
                    }
                    if !killed, ids.count >= killAfter {
                        kill(pid, SIGKILL)
                        killed = true
                    }
                }
                if !killed { kill(pid, SIGKILL) }
                done.resume(returning: ids)
            }.start()
        }
    }
}

/// Runs a program and returns its exit status and standard output.
enum TestShell {
    static func run(_ executable: String, _ arguments: [String]) -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return (-1, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
