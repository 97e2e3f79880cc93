import CorralEngine
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import Synchronization

/// `GET /v1/sessions/{id}/processes/{pid}/connect` upgraded to a WebSocket: a session process's
/// interactive stdin and output (Piston's `/connect`, for a process of a session). Start the process
/// with `exec` (`background: true`, and a `pty` for a terminal), then connect.
///
/// Server → client, JSON text messages: `{"type":"output","stream":"stdout"|"stderr","data":TEXT}` (what
/// the process wrote before the connection first), then `{"type":"exit","exit_code":N|null,"signal":N|null}`
/// as the last message (or `{"type":"detached",…}` when another connection took the output over), and
/// `{"type":"error","message":…}` for a message it could not carry out.
/// Client → server: `{"type":"stdin","data":TEXT}` (a binary message is stdin bytes as they are),
/// `{"type":"eof"}`, `{"type":"resize","cols":N,"rows":N}`, `{"type":"signal","signal":"SIGINT"|2}`.
enum ProcessSocket {
    typealias Handler = WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>

    /// The session and process a connect path names, or nil for any other path.
    static func target(_ path: String) -> (session: String, pid: Int)? {
        let parts = (path.split(separator: "?", maxSplits: 1).first ?? "").split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 7, parts[0].isEmpty, parts[1] == "v1", parts[2] == "sessions", !parts[3].isEmpty, parts[4] == "processes",
              let pid = Int(parts[5]), pid > 0, pid <= OpenAPIDocument.maxPID, parts[6] == "connect" else { return nil }
        return (String(parts[3]).removingPercentEncoding ?? String(parts[3]), pid)
    }

    /// Whether to upgrade: the path is a connect path, the caller's key is valid, the session is the
    /// caller's and holds the process. Anything else is not upgraded: the HTTP route then answers why.
    static func shouldUpgrade(_ head: HTTPRequest, engine: Engine, keys: APIKeyMiddleware?) async -> ShouldUpgradeResult<Handler> {
        guard let path = head.path, let (id, pid) = target(path) else { return .dontUpgrade }
        var caller: String?
        if let keys {
            do throws(APIError) { caller = try keys.caller(head.headerFields) } catch { return .dontUpgrade }
        }
        let context = ExecutionContext(caller: caller, requestID: UUID().uuidString.lowercased())
        do throws(EngineError) { _ = try await engine.sessionProcess(id, pid: pid, context: context) } catch { return .dontUpgrade }
        return .upgrade([:]) { inbound, outbound, _ in
            await serve(engine: engine, session: id, pid: pid, context: context, inbound: inbound, outbound: outbound)
        }
    }

    static func serve(engine: Engine, session id: String, pid: Int, context: ExecutionContext,
                      inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        let (messages, sink) = AsyncStream<String>.makeStream(bufferingPolicy: .unbounded)
        let outbox = Outbox(sink) { try? await engine.detachSessionProcess(id, pid: pid, context: context) }
        @Sendable func send(_ message: String) { outbox.send(message) }
        await withTaskGroup(of: Void.self) { group in
            // The process's output, then its end.
            group.addTask {
                do throws(EngineError) {
                    let ended = try await engine.attachSessionProcess(id, pid: pid, context: context) { chunk in
                        send(json(["type": "output", "stream": chunk.stream, "data": chunk.text]))
                    }
                    if ended.status == "running" {
                        send(json(["type": "detached", "message": "another connection took this process's output over"]))
                    } else {
                        send(json(["type": "exit", "exit_code": ended.exitCode as Any? ?? NSNull(), "signal": ended.signal as Any? ?? NSNull()]))
                    }
                } catch {
                    send(json(["type": "error", "message": error.message]))
                }
                sink.finish()
            }
            // Messages out, in order; the socket closes after the last one.
            group.addTask {
                for await message in messages {
                    try? await outbound.write(.text(message))
                    outbox.backlog.written(message.utf8.count)
                }
                if outbox.tooSlow {
                    try? await outbound.close(.policyViolation, reason: "the client read too slowly")
                } else {
                    try? await outbound.close(.normalClosure, reason: "the process ended")
                }
            }
            // The client's input, until the process ends or the client goes; then the attach ends
            // (an agent thread must not wait on a process for a client that left).
            group.addTask {
                do {
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        if let reply = await handle(message, engine: engine, session: id, pid: pid, context: context) { send(reply) }
                    }
                } catch {}
                try? await engine.detachSessionProcess(id, pid: pid, context: context)
            }
            await group.next()
            await group.next()
            group.cancelAll()
        }
    }

    /// Messages for the client, in order. What the client has not read yet is bounded (a process
    /// writes for as long as it runs): past the backlog the connection says why and closes
    /// (`onTooSlow` ends the attach), and the process runs on.
    final class Outbox: Sendable {
        let backlog = Backlog()
        private let sink: AsyncStream<String>.Continuation
        private let closed = Mutex(false)
        private let onTooSlow: @Sendable () async -> Void

        init(_ sink: AsyncStream<String>.Continuation, onTooSlow: @escaping @Sendable () async -> Void) {
            self.sink = sink
            self.onTooSlow = onTooSlow
        }

        var tooSlow: Bool { closed.withLock { $0 } }

        func send(_ message: String) {
            if backlog.add(message.utf8.count) { sink.yield(message); return }
            guard closed.withLock({ c in defer { c = true }; return !c }) else { return }
            let notice = json(["type": "error", "message": "this connection read too slowly: \(backlog.limit >> 20) MiB of messages were waiting for it; connect again (the process runs on)"])
            backlog.force(notice.utf8.count)
            sink.yield(notice)
            sink.finish()
            let onTooSlow = self.onTooSlow
            Task { await onTooSlow() }
        }
    }

    /// Carries out one client message; returns an error message for the client, or nil.
    static func handle(_ message: WebSocketMessage, engine: Engine, session id: String, pid: Int, context: ExecutionContext) async -> String? {
        do throws(EngineError) {
            switch message {
            case .binary(let buffer):
                let bytes = buffer.getBytes(at: buffer.readerIndex, length: buffer.readableBytes) ?? []
                try await engine.sessionProcessStdin(id, pid: pid, bytes: bytes, eof: false, context: context)
            case .text(let text):
                guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any], let type = object["type"] as? String else {
                    return json(["type": "error", "message": "send JSON messages {\"type\": \"stdin\"|\"eof\"|\"resize\"|\"signal\", …}, or stdin bytes as a binary message"])
                }
                switch type {
                case "stdin":
                    guard let data = object["data"] as? String else { return json(["type": "error", "message": "stdin needs 'data' (text)"]) }
                    try await engine.sessionProcessStdin(id, pid: pid, ProcessStdinRequest(data: data, eof: false), context: context)
                case "eof":
                    try await engine.sessionProcessStdin(id, pid: pid, ProcessStdinRequest(data: "", eof: true), context: context)
                case "resize":
                    guard let cols = (object["cols"] as? NSNumber)?.intValue, let rows = (object["rows"] as? NSNumber)?.intValue else {
                        return json(["type": "error", "message": "resize needs whole numbers 'cols' and 'rows'"])
                    }
                    try await engine.sessionProcessResize(id, pid: pid, ProcessResizeRequest(cols: cols, rows: rows), context: context)
                case "signal":
                    let request = ProcessSignalRequest(number: (object["signal"] as? NSNumber)?.intValue, name: object["signal"] as? String)
                    try await engine.sessionProcessSignal(id, pid: pid, request, context: context)
                default:
                    return json(["type": "error", "message": "unknown message type '\(type)': stdin, eof, resize or signal"])
                }
            }
            return nil
        } catch {
            return json(["type": "error", "message": error.message])
        }
    }

    static func json(_ object: [String: Any]) -> String {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
