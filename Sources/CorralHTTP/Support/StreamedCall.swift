import CorralEngine
import Foundation
import Hummingbird
import Synchronization

/// A call whose output streams as Server-Sent Events (`Accept: text/event-stream`): `output`
/// events (`{"stream", "text"}`) as the program writes, then one `result` event with what the JSON
/// answer would have been. A refusal before any output (a bad request, a full queue) is the
/// ordinary HTTP error; the response starts with the first output or the result. A client that
/// goes away cancels the call (a one-shot run's jail is killed).
enum StreamedCall {
    static func wants(_ request: Request) -> Bool {
        request.headers[.accept]?.lowercased().contains("text/event-stream") == true
    }

    /// Runs `call`, giving it the output sink; answers with the event stream.
    static func respond(_ call: @escaping @Sendable (@escaping @Sendable (OutputChunk) -> Void) async throws(EngineError) -> any Encodable & Sendable) async throws -> Response {
        let (frames, sink) = AsyncStream<String>.makeStream(bufferingPolicy: .unbounded)
        // Output events a client has not read yet are bounded: past the backlog they are dropped
        // (the result event holds the whole output), so a client that does not read costs at most
        // the backlog and the result.
        let backlog = Backlog()
        let ready = Ready()
        let counter = Mutex(0)
        @Sendable func frame(_ event: String, _ value: some Encodable) -> String {
            let id = counter.withLock { n in n += 1; return n }
            let data = (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            return EventStream.frame(id: id, event: event, data: data)
        }
        let task = Task {
            do throws(EngineError) {
                let value = try await call { chunk in
                    ready.open()
                    // Not even encoded when it would be dropped; its id is skipped all the same (a gap
                    // in the ids shows the client where it missed output).
                    guard backlog.waiting < backlog.limit else { counter.withLock { $0 += 1 }; return }
                    let text = frame("output", Chunk(stream: chunk.stream, text: chunk.text))
                    if backlog.add(text.utf8.count) { sink.yield(text) }
                }
                ready.open()
                let text = frame("result", AnyEncodable(value))
                backlog.force(text.utf8.count)
                sink.yield(text)
            } catch {
                if !ready.fail(APIError(error)) {
                    let text = frame("error", ErrorEvent(code: error.code.rawValue, message: error.message))
                    backlog.force(text.utf8.count)
                    sink.yield(text)
                }
            }
            sink.finish()
        }
        sink.onTermination = { _ in task.cancel() }
        try await ready.wait()
        return EventStream.response(frames, backlog: backlog)
    }

    struct Chunk: Encodable { var stream: String; var text: String }
    struct ErrorEvent: Encodable { var code: String; var message: String }
    struct AnyEncodable: Encodable {
        let value: any Encodable
        init(_ value: any Encodable) { self.value = value }
        func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    /// Opens once: at the first output or the result (the response starts), or fails with the
    /// call's refusal when nothing came before it.
    final class Ready: Sendable {
        private enum State { case waiting, open, failed(APIError) }
        private let state = Mutex<(State, CheckedContinuation<Void, any Error>?)>((.waiting, nil))

        func open() {
            let waiter = state.withLock { s -> CheckedContinuation<Void, any Error>? in
                guard case .waiting = s.0 else { return nil }
                s.0 = .open
                defer { s.1 = nil }
                return s.1
            }
            waiter?.resume()
        }

        /// Fails the wait; false when the response had already started (the error goes in the stream).
        func fail(_ error: APIError) -> Bool {
            let (failed, waiter) = state.withLock { s -> (Bool, CheckedContinuation<Void, any Error>?) in
                guard case .waiting = s.0 else { return (false, nil) }
                s.0 = .failed(error)
                defer { s.1 = nil }
                return (true, s.1)
            }
            waiter?.resume(throwing: error)
            return failed
        }

        func wait() async throws {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let now = state.withLock { s -> Result<Void, any Error>? in
                    switch s.0 {
                    case .open: return .success(())
                    case .failed(let e): return .failure(e)
                    case .waiting: s.1 = continuation; return nil
                    }
                }
                if let now { continuation.resume(with: now) }
            }
        }
    }
}
