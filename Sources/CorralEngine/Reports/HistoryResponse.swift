import CorralStore

/// Seed 000's `get_execution_history` result: `count` and `executions`, plus paging.
public struct HistoryResponse: Encodable, Sendable, SchemaDescribed {
    public var count: Int
    public var total: Int
    public var limit: Int
    public var offset: Int
    public var executions: [ExecutionRecord]

    public init(count: Int, total: Int, limit: Int, offset: Int, executions: [ExecutionRecord]) {
        self.count = count
        self.total = total
        self.limit = limit
        self.offset = offset
        self.executions = executions
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case count, total, limit, offset, executions }

    public static func schema(in context: SchemaContext) -> JSONSchema {
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
