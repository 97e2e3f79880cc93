import CorralSandbox
import Foundation
import Synchronization

/// A task's directory on the host (`DATA_DIR/tasks/ID/`): `agent.log` (one line per action),
/// `memory.json` (the history of actions and results, pruned to a size), and, once the task has
/// finished, the files its steps left in the workspace. The output archive sits beside it
/// (`DATA_DIR/tasks/ID.zip`), written once when the task ends.
final class TaskDirectory: Sendable {
    static let logName = "agent.log"
    static let memoryName = "memory.json"
    /// Names the server writes: a workspace file of the same name is not copied over them.
    static let reserved: Set<String> = [logName, memoryName]

    let path: String
    let archivePath: String
    let memoryLimit: Int
    private let memory = Mutex(Memory())
    /// The files `writeFile` wrote, and their sizes.
    private let written = Mutex<[String: Int]>([:])
    /// What the files `writeFile` writes may hold together: the task's `disk_mb` (screenshots, the
    /// agent's transcript; the workspace's files copied in at the end are bounded by it again).
    let maxWrittenBytes: Int

    /// `memory.json`: the actions, oldest first, and how many older ones were dropped.
    struct Memory: Codable {
        var taskID = ""
        var entries: [Entry] = []
        var dropped = 0
        var note: String?
        enum CodingKeys: String, CodingKey { case entries, dropped, note; case taskID = "task_id" }
    }

    struct Entry: Codable {
        var time: String
        var step: Int
        var tool: String
        var input: TaskStepRequest
        var status: TaskStepStatus
        var exitCode: Int?
        var stdout: String
        var stderr: String
        var error: String?
        enum CodingKeys: String, CodingKey {
            case time, step, tool, input, status, stdout, stderr, error
            case exitCode = "exit_code"
        }
    }

    init(root: String, taskID: String, memoryLimit: Int, maxWrittenBytes: Int = .max) {
        self.maxWrittenBytes = maxWrittenBytes
        path = root + "/" + taskID
        archivePath = root + "/" + taskID + ".zip"
        self.memoryLimit = max(1, memoryLimit)
        memory.withLock { $0.taskID = taskID }
    }

    var logPath: String { path + "/" + Self.logName }
    var memoryPath: String { path + "/" + Self.memoryName }

    /// Creates the directory (0700: it holds the task's output) with an empty memory.
    func create() throws(EngineError) {
        let root = (path as NSString).deletingLastPathComponent
        if mkdir(root, 0o700) != 0, errno != EEXIST {
            throw EngineError(.internalError, "cannot create the tasks directory \(root): \(String(cString: strerror(errno))); choose another --data-dir")
        }
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else {
            throw EngineError(.internalError, "cannot create the task directory \(path): \(String(cString: strerror(errno)))")
        }
        saveMemory()
    }

    /// Writes a file of the task's own (next to agent.log), replacing it: best effort, like the log
    /// (false, and a line in the log, when it could not, or when the task's files would hold more
    /// than `maxWrittenBytes`). A workspace file of the same name is not copied over it.
    @discardableResult
    func writeFile(_ name: String, _ data: Data) -> Bool {
        // Room is taken before the write: the name counts at the larger of its old and new sizes
        // until the write is done (a failed one may leave either), then at what was written.
        let held = written.withLock { w -> Int? in
            let others = w.reduce(0) { $0 + ($1.key == name ? 0 : $1.value) }
            guard others <= maxWrittenBytes - data.count else { return others }
            w[name] = max(data.count, w[name] ?? 0)
            return nil
        }
        if let held {
            log("not written: \(name) (\(data.count) bytes): the task's own files hold \(held) bytes and may hold \(maxWrittenBytes) (its disk_mb)")
            return false
        }
        let fd = open(path + "/" + name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        let failure = fd < 0 || (!data.isEmpty && !Posix.writeAll(fd, [UInt8](data))) ? errno : nil
        if fd >= 0 { close(fd) }
        if let failure {
            log("cannot write \(name): \(String(cString: strerror(failure)))")
            return false
        }
        written.withLock { $0[name] = data.count }
        return true
    }

    /// Whether `name` is a file the server wrote (agent.log, memory.json, a transcript, a screenshot),
    /// read from the directory even while the task runs.
    func isServerFile(_ name: String) -> Bool {
        Self.reserved.contains(name) || written.withLock { $0[name] != nil }
    }

    /// Appends one line to `agent.log`: an RFC 3339 time and the action.
    func log(_ line: String) {
        let text = Session.iso(Date().timeIntervalSince1970) + " " + PlainText.escapingControls(line) + "\n"
        let fd = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { return }
        _ = Array(text.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    /// Records a finished step in `memory.json`, dropping the oldest entries past the limit.
    func remember(_ step: TaskStepInfo) {
        let entry = Entry(time: step.finishedAt ?? Session.iso(Date().timeIntervalSince1970), step: step.index, tool: step.tool, input: step.input,
                          status: step.status, exitCode: step.result?.result.exitCode,
                          stdout: Self.clip(step.result?.result.stdout ?? ""), stderr: Self.clip(step.result?.result.stderr ?? ""),
                          error: step.result?.result.errorMessage)
        memory.withLock { m in
            m.entries.append(entry)
            if m.entries.count > memoryLimit {
                let over = m.entries.count - memoryLimit
                m.entries.removeFirst(over)
                m.dropped += over
                m.note = "the \(m.dropped) oldest entries were dropped to keep the last \(memoryLimit)"
            }
        }
        saveMemory()
    }

    /// Output kept in memory per action (the step result holds all of it).
    static func clip(_ text: String) -> String {
        text.utf8.count <= 16_384 ? text : String(decoding: Array(text.utf8.prefix(16_384)), as: UTF8.self) + "…[clipped]"
    }

    private func saveMemory() {
        let data = memory.withLock { m -> Data? in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            return try? encoder.encode(m)
        }
        guard let data else { return }
        // Atomically: a reader never sees half a file.
        let temporary = path + "/.memory.json.tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { return }
        let ok = Posix.writeAll(fd, [UInt8](data))
        close(fd)
        if ok { rename(temporary, memoryPath) } else { unlink(temporary) }
    }

    /// Copies the workspace's files in (not over the server's own files). Returns what was left
    /// out (symlinks, special files, the reserved names), in words, or nil. `maxBytes`: the
    /// workspace's own size (`disk_mb`): sparse files can claim more than the tmpfs holds (eight
    /// `truncate -s 500M` take no space there) and would be written out dense on the host.
    func copy(from workspace: WorkspaceFiles?, maxBytes: Int?) -> String? {
        guard let workspace else { return nil }
        // No more than the archive can hold (a zip without its 64-bit extension), nor the workspace.
        let report = WorkspaceCopy.copy(workspace, to: path, reserved: Self.reserved.union(written.withLock { $0.keys }), maxEntries: WorkspaceArchive.maxEntries - 16,
                                        maxBytes: min(maxBytes ?? Self.maxArchiveBytes, Self.maxArchiveBytes))
        guard !report.skipped.isEmpty else { return nil }
        return "left out of the task directory (symlinks, special files, the server's own names, what is past the task's disk_mb): "
            + report.skipped.prefix(20).joined(separator: ", ") + (report.skipped.count > 20 ? " and \(report.skipped.count - 20) more" : "")
    }

    /// The most file data an archive holds: a zip without its 64-bit extension counts in 32 bits.
    static let maxArchiveBytes = Int(UInt32.max) - (64 << 20)

    /// Writes `ID.zip` from the directory (streamed to a temporary file, then renamed).
    func writeArchive() -> String? {
        let temporary = archivePath + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { return "cannot write the output archive: \(String(cString: strerror(errno)))" }
        do throws(WorkspaceArchive.Failure) {
            _ = try WorkspaceArchive.write(WorkspaceFiles(root: path, owner: 0), to: fd, maxBytes: Self.maxArchiveBytes)
            fsync(fd)
            close(fd)
            rename(temporary, archivePath)
            return nil
        } catch {
            close(fd)
            unlink(temporary)
            switch error {
            case .tooLarge(let why): return "no output archive: \(why)"
            case .files(let failure): return "cannot write the output archive: \(Engine.describe(failure))"
            }
        }
    }

    /// Removes the directory and its archive (retention).
    static func remove(root: String, taskID: String) {
        guard !taskID.isEmpty, !taskID.contains("/"), !taskID.hasPrefix(".") else { return }
        try? FileManager.default.removeItem(atPath: root + "/" + taskID)
        unlink(root + "/" + taskID + ".zip")
    }
}
