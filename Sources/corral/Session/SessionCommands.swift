import ArgumentParser
import CorralClient
import Foundation

/// `corral session`: sessions of a running `corral serve` (docs/sessions.md).
struct SessionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "session",
        abstract: "Create sessions on a running corral serve, run commands in them, copy files in and out, review and apply changes.",
        subcommands: [Create.self, Exec.self, List.self, Copy.self, Remove.self, Diff.self, Apply.self])

    /// One request; its JSON answer (a 4xx is the caller's error: 64; unreachable or 5xx: 125).
    static func call(_ server: ServerOptions, _ method: String, _ path: String, json: [String: Any]? = nil, what: String) async throws -> [String: Any] {
        let connection = try server.connection(timeout: 3600)
        let body = try json.map { Array(try JSONSerialization.data(withJSONObject: $0)) }
        return try await ServerCall.run { () throws -> SendableJSON in
            do { return SendableJSON(try ServerCall.object(try connection.request(method, path, body: body), what)) }
            catch let e as HTTPConnection.Failure { throw ServerCall.failed(e, connection) }
        }.sendable
    }

    static func query(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_.~/"))) ?? value
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Start a session; prints its id.")
        @OptionGroup var server: ServerOptions
        @Option(help: "The session's language (default python).") var language: String?
        @Option(help: ArgumentHelp("A host directory to mount (under a root the server allows).", valueName: "DIR")) var mount: String?
        @Option(help: "How --mount is mounted: shadow (default; copy-on-write, see diff/apply) or readonly.") var mode = "shadow"
        @Option(name: .customLong("timeout"), help: "Idle timeout in seconds.") var timeoutSeconds: Double?
        @Option(name: .customLong("memory-mb"), help: "Memory of the whole session, MiB.") var memoryMB: Int?
        @Option(name: .customLong("disk-mb"), help: "Size of its workspace (what it may write), MiB.") var diskMB: Int?
        @Flag(help: "Print the session object as JSON.") var json = false

        func run() async throws {
            var body: [String: Any] = [:]
            if let language { body["language"] = language }
            if let mount {
                guard let real = realpath(mount, nil) else { throw CLIFailure.usage("--mount \(mount): no such directory") }
                body["mount"] = ["host_path": String(cString: real), "mode": mode]
                free(real)
            }
            if let timeoutSeconds { body["timeout_seconds"] = timeoutSeconds }
            if let memoryMB { body["max_memory_mb"] = memoryMB }
            if let diskMB { body["disk_mb"] = diskMB }
            let session = try await SessionCommand.call(server, "POST", "/v1/sessions", json: body, what: "create")
            if json { try TaskPrinter.json(session) } else { StandardStream.output.line(session["session_id"] as? String ?? "") }
        }
    }

    struct Exec: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "exec",
            abstract: "Run a command in a session, its output as it comes; exits with the command's exit code.",
            discussion: "corral session exec ID -- make test   (the words after -- are joined into one bash command line)")
        @OptionGroup var server: ServerOptions
        @Argument(help: "The session's id.") var id: String
        @Option(name: .customLong("timeout"), help: "Seconds the command may run (default 30; 0: the maximum).") var timeoutSeconds: Double?
        @Option(help: "Working directory (relative to /workspace).") var cwd: String?
        @Argument(parsing: .postTerminator, help: "The command.") var command: [String] = []

        func run() async throws {
            guard !command.isEmpty else { throw CLIFailure.usage("give the command after --: corral session exec ID -- COMMAND") }
            var body: [String: Any] = ["command": command.count == 1 ? command[0] : command.map(Self.quote).joined(separator: " ")]
            if let timeoutSeconds { body["timeout_seconds"] = timeoutSeconds }
            if let cwd { body["cwd"] = cwd }
            let connection = try server.connection(timeout: 7200)
            let data = Array(try JSONSerialization.data(withJSONObject: body))
            let path = "/v1/sessions/\(TaskPrinter.segment(id))/exec"
            let events = EventLines()
            let response = try await ServerCall.run { () throws -> HTTPConnection.Response in
                do { return try connection.request("POST", path, body: data, accept: "text/event-stream") { events.take($0) } }
                catch let e as HTTPConnection.Failure { throw ServerCall.failed(e, connection) }
            }
            guard response.status == 200, response.header("Content-Type")?.hasPrefix("text/event-stream") == true else {
                _ = try ServerCall.object(response, "exec")
                return
            }
            guard let result = events.result else { throw CLIFailure.corralFailed("the stream ended without a result") }
            if let message = result["error_message"] as? String, result["status"] as? String != "error" {
                StandardStream.error.line("corral: \(message)")
            }
            let code = (result["exit_code"] as? Int) ?? 125
            if code != 0 { throw ExitCode(Int32(clamping: code)) }
        }

        static func quote(_ word: String) -> String {
            word.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,+@%".contains($0) } && !word.isEmpty
                ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "The caller's live sessions.")
        @OptionGroup var server: ServerOptions
        @Flag(help: "Print them as JSON.") var json = false

        func run() async throws {
            let list = try await SessionCommand.call(server, "GET", "/v1/sessions", what: "list")
            if json { try TaskPrinter.json(list); return }
            for s in (list["sessions"] as? [[String: Any]]) ?? [] {
                let mount = (s["mount"] as? [String: Any]).map { " \($0["mode"] as? String ?? "") \($0["host_path"] as? String ?? "")" } ?? ""
                StandardStream.output.line("\(s["session_id"] as? String ?? "")  \(s["status"] as? String ?? "")  \(s["language"] as? String ?? "")  expires \(s["expires_at"] as? String ?? "")\(mount)")
            }
        }
    }

    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cp", abstract: "Copy a file into or out of a session: cp FILE ID:PATH, or cp ID:PATH FILE (- for stdin/stdout).")
        @OptionGroup var server: ServerOptions
        @Argument(help: "The source: a local file, or ID:PATH.") var source: String
        @Argument(help: "The destination: ID:PATH, or a local file.") var destination: String

        func run() async throws {
            let connection = try server.connection(timeout: 3600)
            switch (Self.remote(source), Self.remote(destination)) {
            case (nil, let (id, path)?):
                let bytes: Data
                if source == "-" { bytes = FileHandle.standardInput.readDataToEndOfFile() } else {
                    guard let data = FileManager.default.contents(atPath: source) else { throw CLIFailure.usage("cannot read \(source)") }
                    bytes = data
                }
                let target = "/v1/sessions/\(TaskPrinter.segment(id))/files?path=\(SessionCommand.query(path))"
                let response = try await ServerCall.run { () throws -> HTTPConnection.Response in
                    do { return try connection.request("PUT", target, body: Array(bytes), contentType: "application/octet-stream") }
                    catch let e as HTTPConnection.Failure { throw ServerCall.failed(e, connection) }
                }
                _ = try ServerCall.object(response, "cp")
            case (let (id, path)?, nil):
                let target = "/v1/sessions/\(TaskPrinter.segment(id))/files?path=\(SessionCommand.query(path))"
                let response = try await ServerCall.run { () throws -> HTTPConnection.Response in
                    do { return try connection.request("GET", target, accept: "application/octet-stream") }
                    catch let e as HTTPConnection.Failure { throw ServerCall.failed(e, connection) }
                }
                guard response.status == 200, response.header("Content-Type") == "application/octet-stream" else {
                    if response.status == 200 { throw CLIFailure.usage("\(source) is a directory: copy its files one by one, or GET …/archive?path= for a zip") }
                    _ = try ServerCall.object(response, "cp")
                    return
                }
                if destination == "-" { StandardStream.output.write(Data(response.body)); return }
                guard FileManager.default.createFile(atPath: destination, contents: Data(response.body)) else { throw CLIFailure.usage("cannot write \(destination)") }
            default:
                throw CLIFailure.usage("one side must be ID:PATH (a session's file) and the other a local file")
            }
        }

        /// `ID:PATH` → (ID, PATH); a local path (absolute, ./, or without ':') → nil.
        static func remote(_ text: String) -> (String, String)? {
            guard !text.hasPrefix("/"), !text.hasPrefix("."), let colon = text.firstIndex(of: ":") else { return nil }
            let id = String(text[..<colon])
            return id.isEmpty ? nil : (id, String(text[text.index(after: colon)...]))
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "End a session (its processes die, its workspace is removed).")
        @OptionGroup var server: ServerOptions
        @Argument(help: "The sessions' ids.") var ids: [String]

        func run() async throws {
            for id in ids { _ = try await SessionCommand.call(server, "DELETE", "/v1/sessions/\(TaskPrinter.segment(id))", what: "rm \(id)") }
        }
    }

    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "diff", abstract: "A shadow session's changes as a unified diff (binary files named).")
        @OptionGroup var server: ServerOptions
        @Argument(help: "The session's id.") var id: String
        @Argument(help: "Only this path (a directory: what is under it).") var path: String?

        func run() async throws {
            let query = path.map { "?path=\(SessionCommand.query($0))" } ?? ""
            let diff = try await SessionCommand.call(server, "GET", "/v1/sessions/\(TaskPrinter.segment(id))/diff\(query)", what: "diff")
            StandardStream.output.write(diff["diff"] as? String ?? "")
            for binary in (diff["binary_files"] as? [String]) ?? [] { StandardStream.output.line("Binary file \(binary) differs") }
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "apply", abstract: "Write a shadow session's changes back to its host directory (all, or the paths named).")
        @OptionGroup var server: ServerOptions
        @Argument(help: "The session's id.") var id: String
        @Argument(help: "Only these paths.") var paths: [String] = []
        @Flag(help: "Apply over host files changed since the session began.") var force = false

        func run() async throws {
            var body: [String: Any] = ["force": force]
            if !paths.isEmpty { body["paths"] = paths }
            let applied = try await SessionCommand.call(server, "POST", "/v1/sessions/\(TaskPrinter.segment(id))/apply", json: body, what: "apply")
            for change in (applied["changes"] as? [[String: Any]]) ?? [] {
                StandardStream.output.line("\(change["kind"] as? String ?? "") \(change["path"] as? String ?? "")")
            }
        }
    }
}

/// Server-Sent Events read from a streamed response's bytes: `output` events are written to
/// stdout/stderr as they come, the `result` event is kept.
final class EventLines: @unchecked Sendable {
    private var parser = EventParser()
    private(set) var result: [String: Any]?

    func take(_ bytes: [UInt8]) {
        for (name, data) in parser.take(bytes) {
            switch name {
            case "output":
                guard let text = data["text"] as? String else { continue }
                if data["stream"] as? String == "stderr" { StandardStream.error.write(text) } else { StandardStream.output.write(text) }
            case "result": result = data
            case "error": StandardStream.error.line("corral: \(data["message"] as? String ?? "the run failed")")
            default: break
            }
        }
    }
}

/// Splits a stream of Server-Sent Events into (event name, JSON data) as whole events arrive.
struct EventParser {
    private var pending = ""

    mutating func take(_ bytes: [UInt8]) -> [(String, [String: Any])] {
        pending += String(decoding: bytes.filter { $0 != 13 }, as: UTF8.self)
        var out: [(String, [String: Any])] = []
        while let end = pending.range(of: "\n\n") {
            let frame = pending[..<end.lowerBound]
            pending = String(pending[end.upperBound...])
            var name = "", data = ""
            for line in frame.split(separator: "\n") {
                if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) } else if line.hasPrefix("data: ") { data += line.dropFirst(6) }
            }
            if let object = (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] { out.append((name, object)) }
        }
        return out
    }
}
