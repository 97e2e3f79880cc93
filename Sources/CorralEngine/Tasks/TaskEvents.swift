import Foundation
import Synchronization

/// One event of a task's stream: `id` counts from 1 in the task (SSE `id:`), `name` is its type
/// (`task_started`, `step_started`, `output`, `step_finished`, `task_finished`), `data` its JSON.
public struct TaskEvent: Sendable, Equatable {
    public var id: Int
    public var name: String
    public var data: String
}

/// A task's events: kept for replay (a client resumes with `Last-Event-ID`), delivered live to
/// every subscriber. Output events past `maxBytes` are not kept (live subscribers still get them;
/// the step's result holds the output), so a chatty task cannot grow the server without bound.
public final class TaskEventLog: Sendable {
    private struct State {
        var events: [TaskEvent] = []
        var nextID = 1
        var bytes = 0
        var finished = false
        var subscribers: [UUID: AsyncStream<TaskEvent>.Continuation] = [:]
    }
    private let state = Mutex(State())
    let maxBytes: Int

    init(maxBytes: Int = 8 << 20) { self.maxBytes = maxBytes }

    var count: Int { state.withLock { $0.nextID - 1 } }
    /// Bytes of the events kept for replay.
    var keptBytes: Int { state.withLock { $0.bytes } }

    /// Appends an event (numbered next, or `id` when it is larger: a rebuilt log's last event).
    func append(_ name: String, _ data: some Encodable, id: Int? = nil) {
        let json = (try? TaskEventLog.encoder.encode(data)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        let subscribers = state.withLock { s -> [AsyncStream<TaskEvent>.Continuation] in
            guard !s.finished else { return [] }
            if let id, id > s.nextID { s.nextID = id }
            let event = TaskEvent(id: s.nextID, name: name, data: json)
            s.nextID += 1
            if name != "output" || s.bytes + json.utf8.count <= maxBytes {
                s.events.append(event)
                s.bytes += json.utf8.count
            }
            return s.subscribers.values.map { c in c.yield(event); return c }
        }
        _ = subscribers
    }

    /// Ends the log: subscribers' streams finish after the last event.
    func finish() {
        let subscribers = state.withLock { s -> [AsyncStream<TaskEvent>.Continuation] in
            s.finished = true
            defer { s.subscribers = [:] }
            return Array(s.subscribers.values)
        }
        for c in subscribers { c.finish() }
    }

    /// Events after `lastID` (kept ones), then live ones until the log ends.
    public func subscribe(after lastID: Int) -> AsyncStream<TaskEvent> {
        let (stream, continuation) = AsyncStream<TaskEvent>.makeStream(bufferingPolicy: .bufferingNewest(100_000))
        let key = UUID()
        state.withLock { s in
            for event in s.events where event.id > lastID { continuation.yield(event) }
            if s.finished { continuation.finish() } else { s.subscribers[key] = continuation }
        }
        continuation.onTermination = { [weak self] _ in _ = self?.state.withLock { $0.subscribers.removeValue(forKey: key) } }
        return stream
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()
}

/// Payloads of the events.
struct StepEvent: Encodable {
    var step: Int
    var tool: String
    var name: String?
    var status: TaskStepStatus?
    var result: StepResult?
}

struct OutputEvent: Encodable {
    var step: Int
    var stream: String
    var text: String
}
