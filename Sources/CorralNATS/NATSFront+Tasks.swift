import CorralEngine
import CorralSandbox
import CorralStore
import Foundation

/// Seed 000's task types, each one engine call: the same calls and result objects as HTTP's.
extension NATSFront {
    func perform(_ task: TaskEnvelope, requestID: String) async throws(EngineError) -> [UInt8] {
        let context = ExecutionContext(caller: "nats", requestID: requestID)
        do {
            switch task.type {
            case .executeCode:
                var request = try RequestDecoding.decode(ExecuteRequest.self, from: Self.json(task.payload))
                if request.priority == nil { request.priority = task.priority }
                return try TaskReply.success(try await engine.execute(request, context: context), taskID: task.taskID)
            case .validateCode:
                let request = try RequestDecoding.decode(ValidateRequest.self, from: Self.json(task.payload))
                return try TaskReply.success(try await engine.validate(request), taskID: task.taskID)
            case .listLanguages:
                try Self.expectNoFields(task.payload, of: task.type)
                return try TaskReply.success(await engine.languages(), taskID: task.taskID)
            case .getExecutionHistory:
                let query = try Self.historyQuery(task.payload)
                let page = try await engine.history(query, context: context)
                return try TaskReply.success(HistoryResponse(count: page.records.count, total: page.total, limit: query.limit,
                                                             offset: query.offset, executions: page.records), taskID: task.taskID)
            case .getResourceLimitsInfo:
                try Self.expectNoFields(task.payload, of: task.type)
                return try TaskReply.success(engine.limits(), taskID: task.taskID)
            case .getExecutorStats:
                var include = false
                for (key, value) in task.payload {
                    guard key == "include_history", let flag = value as? Bool else {
                        throw EngineError(.invalidRequest, "get_executor_stats takes only include_history (a boolean)")
                    }
                    include = flag
                }
                return try TaskReply.success(await engine.stats(includeHistory: include, context: context), taskID: task.taskID)
            }
        } catch let error as EngineError {
            throw error
        } catch {
            throw EngineError(.internalError, "the result could not be encoded: \(error)")
        }
    }

    static func json(_ object: [String: Any]) throws(EngineError) -> Data {
        do { return try JSONSerialization.data(withJSONObject: object) } catch {
            throw EngineError(.invalidRequest, "the payload cannot be read as JSON: \(error)")
        }
    }

    static func expectNoFields(_ payload: [String: Any], of type: TaskEnvelope.TaskType) throws(EngineError) {
        if let key = payload.keys.sorted().first {
            throw EngineError(.invalidRequest, "\(type.rawValue) takes an empty payload; unknown field '\(key)'")
        }
    }

    /// Seed 000's `get_execution_history` payload: limit (default 100, at most 1000), offset, language, status.
    static func historyQuery(_ payload: [String: Any]) throws(EngineError) -> HistoryQuery {
        let p = try RequestDecoding.decode(HistoryTaskPayload.self, from: json(payload))
        var query = HistoryQuery(language: p.language, status: p.status)
        if let limit = p.limit {
            guard (1...HistoryQuery.maxLimit).contains(limit) else { throw EngineError(.invalidRequest, "limit is 1 to \(HistoryQuery.maxLimit), got \(limit)") }
            query.limit = limit
        }
        if let offset = p.offset {
            guard offset >= 0 else { throw EngineError(.invalidRequest, "offset is 0 or more, got \(offset)") }
            query.offset = offset
        }
        if let status = p.status, RunStatus(rawValue: status) == nil {
            throw EngineError(.invalidRequest, "status must be one of \(RunStatus.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return query
    }
}

/// The fields of a `get_execution_history` payload (any other is refused, naming it).
struct HistoryTaskPayload: KnownFields {
    var limit: Int?
    var offset: Int?
    var language: String?
    var status: String?
    static let fieldNames: Set<String> = ["limit", "offset", "language", "status"]
    static let wholeNumberFields: Set<String> = ["limit", "offset"]
}
