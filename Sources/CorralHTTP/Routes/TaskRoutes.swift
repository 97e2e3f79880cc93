import CorralEngine
import Foundation
import HTTPTypes
import Hummingbird

/// The task routes (`APIRoute.taskRoutes`) and the seeds' (`APIRoute.seedTaskRoutes`).
extension CorralServer {
    func addTaskRoutes(to router: Router<CorralRequestContext>) {
        let engine = self.engine, http = self.http
        func on(_ route: APIRoute, _ handler: @escaping @Sendable (Request, CorralRequestContext, ExecutionContext) async throws -> Response) {
            router.on(RouterPath(route.routerPath), method: route.method) { request, context in
                try await handler(request, context, ExecutionContext(caller: context.caller, requestID: context.requestID))
            }
        }
        @Sendable func task(_ id: String, _ ctx: ExecutionContext) async throws -> TaskInfo {
            do throws(EngineError) { return try await engine.task(id, context: ctx) } catch { throw APIError(error) }
        }

        on(.createTask) { request, _, ctx in
            let body = try await JSONBody.decode(TaskRequest.self, from: request, limit: http.maxBodyBytes)
            let accepted: TaskAccepted
            do throws(EngineError) { accepted = try await engine.submitTask(body, context: ctx) } catch { throw APIError(error) }
            var response = try JSONBody.response(accepted, status: .accepted)
            response.headers[.location] = accepted.statusURL
            return response
        }
        on(.agentRun) { request, _, ctx in
            let body = try await JSONBody.decode(TaskRequest.self, from: request, limit: http.maxBodyBytes)
            guard body.task != nil else {
                throw APIError(EngineError(.invalidRequest, "give 'task': what the agent should do, in words (POST /v1/tasks takes steps)", field: "task"))
            }
            let accepted: TaskAccepted
            do throws(EngineError) { accepted = try await engine.submitTask(body, context: ctx) } catch { throw APIError(error) }
            var response = try JSONBody.response(accepted, status: .accepted)
            response.headers[.location] = accepted.statusURL
            return response
        }
        on(.listTasks) { request, _, ctx in
            let query = request.uri.queryParameters
            var status: TaskStatus?
            if let raw = query.get("status") {
                guard let value = TaskStatus(rawValue: String(raw)) else {
                    throw APIError(.invalidRequest, "status must be one of \(TaskStatus.allCases.map(\.rawValue).joined(separator: ", ")), got '\(raw)'")
                }
                status = value
            }
            let limit = try Self.integer(query.get("limit"), name: "limit", range: 1...500) ?? 50
            let offset = try Self.integer(query.get("offset"), name: "offset", range: 0...Int(Int64.max)) ?? 0
            return try await Self.answer { () throws(EngineError) in try await engine.listTasks(status: status, limit: limit, offset: offset, context: ctx) }
        }
        on(.getTask) { _, context, ctx in
            try JSONBody.response(try await task(try context.parameters.require("id"), ctx))
        }
        on(.cancelTask) { _, context, ctx in
            let id = try context.parameters.require("id")
            return try await Self.answer { () throws(EngineError) in try await engine.cancelTask(id, context: ctx) }
        }
        on(.taskEvents) { request, context, ctx in
            let id = try context.parameters.require("id")
            let ids = 0...Int(Int32.max)
            var last = try Self.integer(request.uri.queryParameters.get("last_event_id"), name: "last_event_id", range: ids) ?? 0
            if let name = HTTPField.Name("Last-Event-ID"), let header = request.headers[name] {
                guard let value = Int(header.trimmingCharacters(in: .whitespaces)), ids.contains(value) else {
                    throw APIError(.invalidRequest, "Last-Event-ID must be an event id the stream sent (a whole number from 0 to \(ids.upperBound)), got '\(header.prefix(40))'")
                }
                last = max(last, value)
            }
            let events: AsyncStream<TaskEvent>
            do throws(EngineError) { events = try await engine.taskEvents(id, after: last, context: ctx) } catch { throw APIError(error) }
            return EventStream.response(events.map { EventStream.frame(id: $0.id, event: $0.name, data: $0.data) })
        }
        on(.taskOutput) { _, context, ctx in
            try await Self.archive(engine, try context.parameters.require("id"), ctx)
        }
        on(.taskFile) { request, context, ctx in
            let id = try context.parameters.require("id")
            let prefix = "/v1/tasks/\(id)/files/"
            let raw = request.uri.path
            guard raw.hasPrefix(prefix) else { throw APIError(.invalidRequest, "give a file's path after /files/") }
            let path = String(raw.dropFirst(prefix.count)).removingPercentEncoding ?? String(raw.dropFirst(prefix.count))
            let bytes: [UInt8]
            do throws(EngineError) { bytes = try await engine.taskFile(id, path: path, context: ctx) } catch { throw APIError(error) }
            return Self.bytes(bytes, type: "application/octet-stream")
        }

        // Seed 001 and 002.
        on(.schedule) { request, _, ctx in
            var body = try await JSONBody.decode(TaskRequest.self, from: request, limit: http.maxBodyBytes)
            // Seed 001's agent records each action and goes on: a failed step does not stop the task.
            if body.continueOnError == nil { body.continueOnError = true }
            let accepted: TaskAccepted
            do throws(EngineError) { accepted = try await engine.submitTask(body, context: ctx) } catch { throw APIError(error) }
            return try JSONBody.response(["task_id": accepted.taskID])
        }
        on(.seedStatus) { request, _, ctx in
            guard let id = request.uri.queryParameters.get("task_id"), !id.isEmpty else {
                throw APIError(.invalidRequest, "the query parameter 'task_id' is required (POST /schedule gave it)")
            }
            return try JSONBody.response(SeedTaskStatus(try await task(String(id), ctx)))
        }
        on(.seedJobStatus) { _, context, ctx in
            try JSONBody.response(SeedJobStatus(try await task(try context.parameters.require("id"), ctx)))
        }
        on(.seedJobOutput) { _, context, ctx in
            try await Self.archive(engine, try context.parameters.require("id"), ctx)
        }
    }

    /// A finished task's output archive, streamed from its file.
    static func archive(_ engine: Engine, _ id: String, _ ctx: ExecutionContext) async throws -> Response {
        let path: String
        do throws(EngineError) { path = try await engine.taskArchive(id, context: ctx) } catch { throw APIError(error) }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw APIError(.notFound, "task \(id)'s output archive is gone") }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        var headers = HTTPFields()
        headers[.contentType] = "application/zip"
        headers[.contentDisposition] = "attachment; filename=\"\(id).zip\""
        let body = ResponseBody(contentLength: size) { writer in
            defer { try? handle.close() }
            while true {
                let chunk = try handle.read(upToCount: 256 * 1024) ?? Data()
                if chunk.isEmpty { break }
                try await writer.write(ByteBuffer(bytes: chunk))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// A whole-number query value within `range`, nil when absent.
    static func integer(_ raw: String?, name: String, range: ClosedRange<Int>) throws -> Int? {
        guard let raw else { return nil }
        guard let value = Int(raw), range.contains(value) else {
            throw APIError(.invalidRequest, "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), got '\(raw)'")
        }
        return value
    }
}

/// Seed 001's status: its vocabulary (`scheduled`, `running`, `completed`, `failed`) and the log's path.
struct SeedTaskStatus: Encodable {
    var taskID: String
    var status: String
    var log: String
    var memory: String
    var output: String?
    var error: String?
    init(_ info: TaskInfo) {
        taskID = info.taskID
        status = info.status == .cancelled ? "failed" : info.status.rawValue
        log = info.logPath
        memory = info.memoryPath
        output = info.outputURL
        error = info.error
    }
    enum CodingKeys: String, CodingKey { case status, log, memory, output, error; case taskID = "task_id" }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(taskID, forKey: .taskID); try c.encode(status, forKey: .status); try c.encode(log, forKey: .log)
        try c.encode(memory, forKey: .memory); try c.encode(output, forKey: .output); try c.encode(error, forKey: .error)
    }
}

/// Seed 002's status: `running`, `complete` or `failed`, `result` (the archive's path), `error`.
struct SeedJobStatus: Encodable {
    var status: String
    var result: String?
    var error: String?
    init(_ info: TaskInfo) {
        switch info.status {
        case .scheduled, .running: status = "running"
        case .completed: status = "complete"
        case .failed, .cancelled: status = "failed"
        }
        result = info.outputURL == nil ? nil : "/jobs/\(info.taskID)/output.zip"
        error = info.error
    }
    enum CodingKeys: String, CodingKey { case status, result, error }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(status, forKey: .status); try c.encode(result, forKey: .result); try c.encode(error, forKey: .error)
    }
}
