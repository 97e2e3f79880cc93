import CorralEngine
import Foundation

/// Seed 000's task message: `{task_id, task_type, payload, priority}`.
struct TaskEnvelope {
    /// The seed's task types, plus seed 003's two reports.
    enum TaskType: String, CaseIterable {
        case executeCode = "execute_code", validateCode = "validate_code", listLanguages = "list_languages"
        case getExecutionHistory = "get_execution_history"
        case getResourceLimitsInfo = "get_resource_limits_info", getExecutorStats = "get_executor_stats"
    }

    var taskID: String?
    var type: TaskType
    var payload: [String: Any]
    var priority: Priority?

    /// Reads a message, or throws what to fix. `taskID` is read first, so even a refused task's
    /// error reply names the task it refuses.
    static func decode(_ bytes: [UInt8], taskID: inout String?) throws(EngineError) -> TaskEnvelope {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: Data(bytes)) } catch {
            throw EngineError(.invalidRequest, "the task is not valid JSON; send {\"task_id\", \"task_type\", \"payload\", \"priority\"}")
        }
        guard let fields = object as? [String: Any] else {
            throw EngineError(.invalidRequest, "the task must be a JSON object {\"task_id\", \"task_type\", \"payload\", \"priority\"}")
        }
        if let id = fields["task_id"] {
            guard let id = id as? String, !id.isEmpty, id.utf8.count <= 256 else {
                throw EngineError(.invalidRequest, "task_id must be a string of 1 to 256 bytes")
            }
            taskID = id
        }
        let known: Set<String> = ["task_id", "task_type", "payload", "priority", "metadata", "correlation_id", "created_at", "timeout_seconds"]
        if let unknown = fields.keys.sorted().first(where: { !known.contains($0) }) {
            throw EngineError(.invalidRequest, "unknown field '\(unknown)' in the task; the task's fields are task_id, task_type, payload, priority")
        }
        guard let typeName = fields["task_type"] as? String else {
            throw EngineError(.invalidRequest, "task_type is missing or not a string; one of \(TaskType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let type = TaskType(rawValue: typeName) else {
            throw EngineError(.invalidRequest, "unknown task_type '\(typeName.prefix(100))'; one of \(TaskType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var payload: [String: Any] = [:]
        if let p = fields["payload"], !(p is NSNull) {
            guard let p = p as? [String: Any] else { throw EngineError(.invalidRequest, "payload must be a JSON object") }
            payload = p
        }
        var priority: Priority?
        if let p = fields["priority"], !(p is NSNull) {
            guard let name = p as? String, let value = Priority(name: name) else {
                throw EngineError(.invalidRequest, "priority must be one of LOW, MEDIUM, HIGH, CRITICAL")
            }
            priority = value
        }
        return TaskEnvelope(taskID: taskID, type: type, payload: payload, priority: priority)
    }
}

/// Seed 000's replies: `{status: "success", result, task_id}` or `{status: "error", error, task_id}`.
enum TaskReply {
    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .iso8601
        return e
    }()

    static func success(_ result: some Encodable, taskID: String?) throws -> [UInt8] {
        let body = try encoder.encode(result)
        var out = Array(#"{"result":"#.utf8)
        out += body
        out += Array(#","status":"success","task_id":"#.utf8)
        out += idJSON(taskID)
        out += Array("}".utf8)
        return out
    }

    static func error(_ message: String, taskID: String?) -> [UInt8] {
        let object: [String: Any] = ["status": "error", "error": message, "task_id": taskID ?? NSNull()]
        return Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data(#"{"status":"error"}"#.utf8))
    }

    static func idJSON(_ id: String?) -> [UInt8] {
        guard let id else { return Array("null".utf8) }
        return Array((try? JSONSerialization.data(withJSONObject: [id], options: [])).map { Data($0.dropFirst().dropLast()) } ?? Data("null".utf8))
    }
}
