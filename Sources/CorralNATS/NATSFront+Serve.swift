import CorralEngine
import CorralNATSClient
import Foundation
import Logging

/// Taking messages and answering them.
extension NATSFront {
    /// Handles up to `maxInFlight` tasks at once; the rest wait in the subscription.
    func serveTasks(_ subscription: NATSSubscription, _ nats: NATSConnection) async {
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for await message in subscription {
                if running >= configuration.maxInFlight {
                    await group.next()
                    running -= 1
                }
                running += 1
                group.addTask { await self.handleTask(message, nats) }
            }
        }
    }

    func handleTask(_ message: NATSMessage, _ nats: NATSConnection) async {
        let start = ContinuousClock.now
        guard let replyTo = message.replyTo else {
            // Nobody could read an answer: no work is done for it.
            logger.warning("task without a reply subject dropped", metadata: [
                "subject": .string(message.subject), "bytes": .stringConvertible(message.payload.count)])
            statistics.record("task", since: start, error: "a task without a reply subject was dropped")
            return
        }
        guard Self.isReplySubject(replyTo) else {
            // Corral would publish there with its own rights: its heartbeat or status subjects,
            // another agent's, a `$` API (`$JS.API…`, `$KV…`), or a wildcard.
            logger.warning("task with a refused reply subject dropped", metadata: [
                "subject": .string(message.subject), "reply_to": .string(String(replyTo.prefix(200)))])
            statistics.record("task", since: start, error: "a task with a refused reply subject was dropped")
            return
        }
        inFlight.withLock { $0 += 1 }
        defer { inFlight.withLock { $0 -= 1 } }
        var taskID: String?
        let requestID = UUID().uuidString
        do throws(EngineError) {
            let task = try TaskEnvelope.decode(message.payload, taskID: &taskID)
            let body = try await perform(task, requestID: requestID)
            do throws(NATSError) {
                try nats.publish(replyTo, payload: body)
            } catch where error.code == .payloadTooLarge {
                throw EngineError(.payloadTooLarge, "the result (\(body.count) bytes) exceeds the NATS server's max_payload of "
                    + "\(nats.maxPayload) bytes; ask for less output (max_output_size) or use HTTP")
            } catch {
                logger.warning("task reply not sent", metadata: ["task_id": .string(taskID ?? "-"), "error": .string(error.message)])
            }
            statistics.record("task", since: start, error: nil)
        } catch {
            replyError(error, to: replyTo, taskID: taskID, nats)
            statistics.record("task", since: start, error: error.message)
            logger.info("task refused", metadata: ["task_id": .string(taskID ?? "-"), "code": .string(error.code.rawValue),
                                                   "error": .string(error.message), "request_id": .string(requestID)])
        }
    }

    /// Whether a requester's reply subject may be answered: an inbox, not a subject where Corral
    /// publishes with rights its requesters may lack (`agent.…`: its heartbeat and status updates,
    /// other agents' tasks; `$…`: the service, JetStream, KV and system APIs), and no wildcard or
    /// empty token. Read by byte, as the server reads subjects.
    static func isReplySubject(_ subject: String) -> Bool {
        let bytes = Array(subject.utf8)
        guard bytes.first != UInt8(ascii: "$"), !bytes.starts(with: Array("agent.".utf8)) else { return false }
        return bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).allSatisfy { token in
            !token.isEmpty && !token.elementsEqual([UInt8(ascii: "*")]) && !token.elementsEqual([UInt8(ascii: ">")])
        }
    }

    /// Seed 000's error object, with ADR-32's error headers (the code is the HTTP status of the same error).
    func replyError(_ error: EngineError, to replyTo: String, taskID: String?, _ nats: NATSConnection) {
        let headers = NATSHeaders([("Nats-Service-Error", error.message), ("Nats-Service-Error-Code", String(error.code.httpStatus))])
        do throws(NATSError) {
            try nats.publish(replyTo, payload: TaskReply.error(error.message, taskID: taskID), headers: headers)
        } catch {
            logger.warning("error reply not sent", metadata: ["task_id": .string(taskID ?? "-"), "error": .string(error.message)])
        }
    }

    /// Status, health and the service API: small answers, one at a time per subject.
    func serveRequests(_ kind: String, _ subscription: NATSSubscription, _ nats: NATSConnection) async {
        for await message in subscription {
            let start = ContinuousClock.now
            guard let replyTo = message.replyTo, Self.isReplySubject(replyTo) else { continue }
            let body: [UInt8]
            do {
                switch kind {
                case "status": body = try TaskReply.encoder.encode(await engine.status(state: serviceState())).bytes
                case "health": body = try TaskReply.encoder.encode(health()).bytes
                case "$SRV.PING": body = try TaskReply.encoder.encode(ping()).bytes
                case "$SRV.INFO": body = try TaskReply.encoder.encode(info()).bytes
                default: body = try TaskReply.encoder.encode(stats()).bytes
                }
            } catch {
                replyError(EngineError(.internalError, "the answer could not be encoded: \(error)"), to: replyTo, taskID: nil, nats)
                continue
            }
            try? nats.publish(replyTo, payload: body)  // a requester that left: nothing to do
            if kind == "status" || kind == "health" { statistics.record(kind, since: start, error: nil) }
        }
    }

    /// The heartbeat every `heartbeat_interval_seconds` and the status every
    /// `status_publish_interval_seconds`, until cancelled.
    func publishBeats(_ nats: NATSConnection) async {
        var nextBeat = Date(), nextStatus = Date()
        while !Task.isCancelled {
            let now = Date()
            if now >= nextBeat {
                if let body = try? TaskReply.encoder.encode(heartbeat()) { try? nats.publish(configuration.heartbeatSubject, payload: body.bytes) }
                nextBeat = now.addingTimeInterval(configuration.heartbeatIntervalSeconds)
            }
            if now >= nextStatus {
                if let body = try? TaskReply.encoder.encode(await engine.status(state: serviceState())) {
                    try? nats.publish(configuration.statusUpdateSubject, payload: body.bytes)
                }
                nextStatus = now.addingTimeInterval(configuration.statusPublishIntervalSeconds)
            }
            let wait = max(0.01, min(nextBeat, nextStatus).timeIntervalSinceNow)
            try? await Task.sleep(nanoseconds: UInt64(wait * 1e9))
        }
    }
}

extension Data {
    var bytes: [UInt8] { [UInt8](self) }
}
