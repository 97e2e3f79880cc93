@testable import CorralStore
import Foundation
import Testing

/// Both task stores answer alike: one task per id (saved again, replaced in place), an owner's
/// tasks newest first with a status filter and paging, the unfinished ones of every owner, and
/// pruning that deletes finished tasks only (by age, then past a count).
@Suite("TaskStore")
struct TaskStoreTests {
    typealias F = HistoryFixtures

    static func row(_ id: String, owner: String = "a", status: String = "completed", at ms: Int64) -> TaskRow {
        TaskRow(taskID: id, owner: owner, status: status, createdAtMs: ms, document: Data("{\"task_id\":\"\(id)\"}".utf8))
    }

    static func stores() throws -> [(String, any TaskStore, String?)] {
        let root = F.temporaryDirectory()
        return [("sqlite", try SQLiteHistoryStore(path: root + "/history.sqlite"), root), ("memory", InMemoryTaskStore(), nil)]
    }

    @Test("save, replace, get, list newest first by owner and status, page, unfinished")
    func saveAndList() async throws {
        for (name, store, root) in try Self.stores() {
            defer { root.map { try? FileManager.default.removeItem(atPath: $0) } }
            try await store.saveTask(Self.row("t1", status: "scheduled", at: 1000))
            try await store.saveTask(Self.row("t2", status: "running", at: 2000))
            try await store.saveTask(Self.row("t3", at: 3000))
            try await store.saveTask(Self.row("b1", owner: "b", status: "running", at: 2500))
            try await store.saveTask(Self.row("t1", status: "failed", at: 1000))
            #expect(try await store.task(id: "t1")?.status == "failed", "\(name): saving again replaces")
            #expect(try await store.task(id: "nope") == nil)
            let all = try await store.tasks(TaskQuery(owner: "a"))
            #expect(all.rows.map(\.taskID) == ["t3", "t2", "t1"] && all.total == 3, "\(name): \(all.rows.map(\.taskID))")
            let page = try await store.tasks(TaskQuery(owner: "a", limit: 1, offset: 1))
            #expect(page.rows.map(\.taskID) == ["t2"] && page.total == 3, "\(name)")
            let running = try await store.tasks(TaskQuery(owner: "a", status: "running"))
            #expect(running.rows.map(\.taskID) == ["t2"] && running.total == 1, "\(name)")
            #expect(try await store.tasks(TaskQuery(owner: "c")).total == 0)
            let unfinished = try await store.unfinishedTasks().map(\.taskID).sorted()
            #expect(unfinished == ["b1", "t2"], "\(name): every owner's, none finished: \(unfinished)")
        }
    }

    @Test("pruning deletes finished tasks only: older than the age, then the oldest past the count")
    func prune() async throws {
        for (name, store, root) in try Self.stores() {
            defer { root.map { try? FileManager.default.removeItem(atPath: $0) } }
            for i in 1...6 { try await store.saveTask(Self.row("f\(i)", at: Int64(i) * 1000)) }
            try await store.saveTask(Self.row("old-running", status: "running", at: 10))
            let aged = try await store.pruneTasks(beforeMs: 2500, keep: nil)
            #expect(aged == ["f1", "f2"], "\(name): \(aged)")
            let counted = try await store.pruneTasks(beforeMs: nil, keep: 2)
            #expect(counted == ["f3", "f4"], "\(name): the oldest past 2 kept: \(counted)")
            let left = try await store.tasks(TaskQuery(owner: "a")).rows.map(\.taskID)
            #expect(left == ["f6", "f5", "old-running"], "\(name): an unfinished task is never pruned: \(left)")
            #expect(try await store.pruneTasks(beforeMs: nil, keep: nil).isEmpty)
        }
    }

    @Test("a SQLite store keeps its tasks across reopening")
    func reopen() async throws {
        let root = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try await SQLiteHistoryStore(path: root + "/history.sqlite").saveTask(Self.row("kept", at: 5))
        let reopened = try SQLiteHistoryStore(path: root + "/history.sqlite")
        #expect(try await reopened.task(id: "kept") == Self.row("kept", at: 5))
    }
}
