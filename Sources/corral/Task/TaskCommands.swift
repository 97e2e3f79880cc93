import ArgumentParser
import CorralClient
import Foundation

/// `corral task`: tasks of a running `corral serve` (docs/tasks.md).
struct TaskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "task",
        abstract: "Submit tasks to a running corral serve and follow them.",
        subcommands: [Submit.self, Status.self, Output.self, Cancel.self])

    struct Submit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "submit",
            abstract: "Submit a task (a JSON file of steps, or - for stdin); prints its id.",
            discussion: """
                The file is the body of POST /v1/tasks: {"steps": [{"tool": "shell", "command": "ls"}, …]}.
                --wait waits for the end with a progress line (step n/N); --follow prints the steps' output as it comes.
                Exit status with --wait/--follow: 0 completed, 1 failed or cancelled.
                """)
        @OptionGroup var server: ServerOptions
        @Argument(help: "The task's JSON (- reads stdin).") var file: String
        @Flag(help: "Wait for the task to finish, showing progress on stderr.") var wait = false
        @Flag(help: "Print each step's output as it comes (implies --wait).") var follow = false
        @Flag(help: "Print the final task object as JSON.") var json = false

        func run() async throws {
            let body: Data
            if file == "-" { body = FileHandle.standardInput.readDataToEndOfFile() } else {
                guard let data = FileManager.default.contents(atPath: file) else { throw CLIFailure.usage("cannot read \(file)") }
                body = data
            }
            let connection = try server.connection(timeout: 86_400)
            let accepted = try await ServerCall.run { () throws -> SendableJSON in
                do { return SendableJSON(try ServerCall.object(try connection.request("POST", "/v1/tasks", body: Array(body)), "submit")) }
                catch let e as HTTPConnection.Failure { throw ServerCall.failed(e, connection) }
            }.sendable
            guard let id = accepted["task_id"] as? String else { throw CLIFailure.corralFailed("the server answered without a task_id") }
            guard wait || follow else {
                if json { StandardStream.output.write(Data(try JSONSerialization.data(withJSONObject: accepted, options: [.sortedKeys])) + Data("\n".utf8)) }
                else { StandardStream.output.line(id) }
                return
            }
            StandardStream.error.line("task \(id) scheduled")
            let progress = TaskProgress(follow: follow, interactive: isatty(STDERR_FILENO) == 1)
            let final = try await ServerCall.run { () throws -> SendableJSON in
                do {
                    _ = try connection.request("GET", "/v1/tasks/\(id)/events", accept: "text/event-stream") { bytes in progress.take(bytes) }
                    return SendableJSON(try ServerCall.object(try connection.request("GET", "/v1/tasks/\(id)"), "status"))
                } catch let e as HTTPConnection.Failure { throw ServerCall.failed(e, connection) }
            }.sendable
            progress.end()
            try TaskPrinter.finish(final, json: json)
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "status", abstract: "A task's status and its steps.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "The task's id.") var id: String
        @Flag(help: "Print the task object as JSON.") var json = false

        func run() async throws {
            let connection = try server.connection(timeout: 60)
            let id = self.id
            let task = try await ServerCall.run { () throws -> SendableJSON in
                do { return SendableJSON(try ServerCall.object(try connection.request("GET", "/v1/tasks/\(TaskPrinter.segment(id))"), "status")) }
                catch let e as HTTPConnection.Failure { throw ServerCall.failed(e, connection) }
            }.sendable
            if json { try TaskPrinter.json(task) } else { TaskPrinter.summary(task) }
        }
    }

    struct Output: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "output", abstract: "Download a finished task's output.zip.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "The task's id.") var id: String
        @Option(name: .shortAndLong, help: "Where to write the zip (default ID.zip; - for stdout).") var output: String?

        func run() async throws {
            let connection = try server.connection(timeout: 3600)
            let id = self.id
            let response = try await ServerCall.run { () throws -> HTTPConnection.Response in
                do { return try connection.request("GET", "/v1/tasks/\(TaskPrinter.segment(id))/output.zip", accept: "application/zip") }
                catch let e as HTTPConnection.Failure { throw ServerCall.failed(e, connection) }
            }
            guard response.status == 200 else { _ = try ServerCall.object(response, "output"); return }
            let path = output ?? "\(id).zip"
            if path == "-" { StandardStream.output.write(Data(response.body)); return }
            guard FileManager.default.createFile(atPath: path, contents: Data(response.body)) else { throw CLIFailure.usage("cannot write \(path)") }
            StandardStream.error.line("wrote \(path) (\(response.body.count) bytes)")
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel a scheduled or running task.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "The task's id.") var id: String

        func run() async throws {
            let connection = try server.connection(timeout: 60)
            let id = self.id
            let task = try await ServerCall.run { () throws -> SendableJSON in
                do { return SendableJSON(try ServerCall.object(try connection.request("POST", "/v1/tasks/\(TaskPrinter.segment(id))/cancel", body: Array("{}".utf8)), "cancel")) }
                catch let e as HTTPConnection.Failure { throw ServerCall.failed(e, connection) }
            }.sendable
            TaskPrinter.summary(task)
        }
    }
}

/// A JSON object crossing from the call's thread (JSONSerialization's values are immutable).
struct SendableJSON: @unchecked Sendable {
    let sendable: [String: Any]
    init(_ object: [String: Any]) { sendable = object }
}
