import Foundation

/// Tasks kept in memory (`--history memory`): nothing survives the process; answers as the SQLite
/// store does (newest first, the same pruning).
public actor InMemoryTaskStore: TaskStore {
    private var rows: [String: (seq: Int, row: TaskRow)] = [:]
    private var nextSeq = 0

    public init() {}

    public func saveTask(_ row: TaskRow) async throws {
        let seq = rows[row.taskID]?.seq ?? { nextSeq += 1; return nextSeq }()
        rows[row.taskID] = (seq, row)
    }

    public func task(id: String) async throws -> TaskRow? { rows[id]?.row }

    private func newestFirst() -> [(seq: Int, row: TaskRow)] {
        rows.values.sorted { ($0.row.createdAtMs, $0.seq) > ($1.row.createdAtMs, $1.seq) }
    }

    public func tasks(_ query: TaskQuery) async throws -> (rows: [TaskRow], total: Int) {
        let matching = newestFirst().map(\.row).filter { $0.owner == query.owner && (query.status == nil || $0.status == query.status) }
        return (query.fitting(matching.dropFirst(max(0, query.offset)).prefix(max(0, query.limit))), matching.count)
    }

    public func unfinishedTasks() async throws -> [TaskRow] {
        rows.values.sorted { $0.seq < $1.seq }.map(\.row).filter { !$0.isFinished }
    }

    public func pruneTasks(beforeMs: Int64?, keep: Int?) async throws -> [String] {
        let finished = newestFirst().map(\.row).filter(\.isFinished)
        var ids = Set<String>()
        if let beforeMs { ids.formUnion(finished.filter { $0.createdAtMs < beforeMs }.map(\.taskID)) }
        if let keep { ids.formUnion(finished.dropFirst(max(0, keep)).map(\.taskID)) }
        for id in ids { rows[id] = nil }
        return ids.sorted()
    }
}
