import CorralSandbox
import Foundation
import Synchronization

/// The host's end of a session agent's protocol: JSON requests with an `id`, replies matched by
/// it, many in flight. Replies are hostile input (the session's code runs as the agent's uid):
/// they are read as loose JSON and every field is checked where it is used.
final class SessionAgent: Sendable {
    private struct State {
        var nextID = 1
        var waiting: [Int: CheckedContinuation<[String: Any]?, Never>] = [:]
        /// Each call's deadline, cancelled when its reply comes (a sleeping task must not keep the agent, its
        /// jail and the jail's identity alive for as long as the deadline).
        var deadlines: [Int: Task<Void, Never>] = [:]
        var ended: String?
        var jail: SessionJail?
        /// Calls that take output events (`"event": "output"` frames before their reply).
        var listeners: [Int: OutputListener] = [:]
    }
    /// Receives a streamed command's output as it comes: the stream's name and its bytes.
    typealias OutputListener = @Sendable (String, [UInt8]) -> Void
    private let state = Mutex(State())

    func attach(_ jail: SessionJail) { state.withLock { $0.jail = jail } }

    var endReason: String? { state.withLock { $0.ended } }

    /// A reply frame from the jail.
    func received(_ frame: [UInt8]) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(frame))) as? [String: Any],
              let id = (object["id"] as? NSNumber)?.intValue else { return }
        if object["event"] != nil {
            guard object["event"] as? String == "output", let stream = object["stream"] as? String, stream == "stdout" || stream == "stderr",
                  let text = object["data"] as? String, let data = Data(base64Encoded: text) else { return }
            let listener = state.withLock { $0.listeners[id] }
            listener?(stream, Array(data))
            return
        }
        let (waiter, deadline) = state.withLock { s in
            s.listeners[id] = nil
            return (s.waiting.removeValue(forKey: id), s.deadlines.removeValue(forKey: id))
        }
        deadline?.cancel()
        waiter?.resume(returning: object)
    }

    /// The jail ended: every call in flight fails with `reason`.
    func ended(_ reason: String) {
        let (waiters, deadlines) = state.withLock { s -> ([CheckedContinuation<[String: Any]?, Never>], [Task<Void, Never>]) in
            s.ended = s.ended ?? reason
            s.jail = nil
            defer { s.waiting = [:]; s.deadlines = [:]; s.listeners = [:] }
            return (Array(s.waiting.values), Array(s.deadlines.values))
        }
        for d in deadlines { d.cancel() }
        for w in waiters { w.resume(returning: nil) }
    }

    /// Sends `request` (an `op` and its fields) and waits for its reply, at most `deadline` seconds.
    /// `refused`: the code of what the agent refuses (by default the session's state is at odds with
    /// the request; an upload's archive is the request's own fault).
    /// `onOutput` takes the output events of a streamed `exec` (sent with `"stream": true`).
    func call(_ request: [String: Any], deadline: Double, refused: EngineError.Code = .conflict,
              onOutput: OutputListener? = nil) async throws(EngineError) -> [String: Any] {
        var message = request
        let (id, jail) = state.withLock { s -> (Int, SessionJail?) in
            defer { s.nextID += 1 }
            return (s.nextID, s.ended == nil ? s.jail : nil)
        }
        message["id"] = id
        guard let jail else { throw EngineError(.gone, "the session ended: \(endReason ?? "its jail is gone")") }
        guard let data = try? JSONSerialization.data(withJSONObject: message) else {
            throw EngineError(.invalidRequest, "the request cannot be encoded as JSON")
        }
        let refusal = Mutex<SessionJail.Sent?>(nil)
        let reply: [String: Any]? = await withCheckedContinuation { continuation in
            let registered = state.withLock { s -> Bool in
                guard s.ended == nil else { return false }
                s.waiting[id] = continuation
                s.listeners[id] = onOutput
                return true
            }
            let sent = registered ? jail.send(Array(data)) : .ended
            guard sent == .queued else {
                if registered { state.withLock { s in s.waiting.removeValue(forKey: id); s.listeners[id] = nil } }
                refusal.withLock { $0 = sent }
                continuation.resume(returning: nil)
                return
            }
            let timer = Task { [weak self] in
                do { try await Task.sleep(nanoseconds: UInt64(max(0.1, min(deadline, 86_400)) * 1e9)) } catch { return }
                let late = self?.state.withLock { s in
                    s.deadlines.removeValue(forKey: id)
                    s.listeners[id] = nil
                    return s.waiting.removeValue(forKey: id)
                }
                late??.resume(returning: ["id": id, "ok": false, "code": "timeout",
                                          "error": "the session did not answer within \(Int(deadline)) s"])
            }
            // The reply may have come already: then the timer is not kept (and is cancelled).
            let keep = state.withLock { s -> Bool in
                guard s.waiting[id] != nil else { return false }
                s.deadlines[id] = timer
                return true
            }
            if !keep { timer.cancel() }
        }
        if case .full(let waiting) = refusal.withLock({ $0 }) {
            throw EngineError(.limitReached, "the session has not read \(waiting >> 20) MiB of earlier requests (its agent is stopped or busy); retry once it has",
                              retryAfterSeconds: 5)
        }
        guard let reply else { throw EngineError(.gone, "the session ended: \(endReason ?? "its jail is gone")") }
        if reply["ok"] as? Bool == true { return reply }
        let text = (reply["error"] as? String).map { String($0.prefix(2000)) } ?? "the session agent refused the request"
        switch reply["code"] as? String {
        case "not_found": throw EngineError(.notFound, text)
        // The engine checked every field it sends: what the agent refuses is the state it is in
        // (resizing a process without a terminal, writing to a closed stdin).
        case "invalid_request": throw EngineError(refused, text)
        case "failed": throw EngineError(.conflict, text)
        case "timeout": throw EngineError(.internalError, text)
        default: throw EngineError(.internalError, text)
        }
    }
}

extension Dictionary where Key == String, Value == Any {
    func int(_ key: String) -> Int? { (self[key] as? NSNumber).flatMap { Int(exactly: $0.doubleValue.rounded()) } }
    func double(_ key: String) -> Double? { (self[key] as? NSNumber)?.doubleValue.nonNegativeFinite }
    func string(_ key: String) -> String? { self[key] as? String }
    func bool(_ key: String) -> Bool? { (self[key] as? NSNumber)?.boolValue }
    /// Base64 text decoded as UTF-8 (invalid sequences replaced).
    func base64Text(_ key: String) -> String {
        guard let s = self[key] as? String, let data = Data(base64Encoded: s) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }
}

extension Double {
    var nonNegativeFinite: Double? { isFinite && self >= 0 ? self : nil }
}
