import CorralEngine
import CorralStore

/// Seed 000's `get_execution_history` result: `count` and `executions`, plus paging.
struct HistoryResponse: Encodable, SchemaDescribed {
    var count: Int
    var total: Int
    var limit: Int
    var offset: Int
    var executions: [ExecutionRecord]

    enum CodingKeys: String, CodingKey, CaseIterable { case count, total, limit, offset, executions }

    static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self) { key in
            switch key {
            case .count: JSONSchema.integer(minimum: 0).described("Executions on this page.")
            case .total: JSONSchema.integer(minimum: 0).described("Executions matching the filters.")
            case .limit: .integer(minimum: 1, maximum: HistoryQuery.maxLimit)
            case .offset: .integer(minimum: 0)
            case .executions: JSONSchema.array(.ref("ExecutionRecord")).described("Newest first.")
            }
        }
    }
}
