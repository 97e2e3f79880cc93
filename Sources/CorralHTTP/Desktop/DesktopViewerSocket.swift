import CorralEngine
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// `GET /v1/sessions/{id}/desktop/vnc` upgraded to a WebSocket: binary messages carry the RFB stream
/// of the session's VNC server both ways (what noVNC speaks). Allowed with the API key (`mode`:
/// `interact`, the default, or `view`) or with a signed link's `token` (its mode is the link's). A
/// view-only viewer's input is dropped here (`RFBViewOnlyFilter`), not trusted to the page.
enum DesktopViewerSocket {
    typealias Handler = ProcessSocket.Handler

    /// The session a viewer path names and its query, or nil for any other path.
    static func target(_ path: String) -> (session: String, query: [String: String])? {
        let halves = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let parts = (halves.first ?? "").split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0].isEmpty, parts[1] == "v1", parts[2] == "sessions", !parts[3].isEmpty,
              parts[4] == "desktop", parts[5] == "vnc" else { return nil }
        return (String(parts[3]).removingPercentEncoding ?? String(parts[3]), halves.count > 1 ? query(halves[1]) : [:])
    }

    static func query(_ raw: Substring) -> [String: String] {
        var values: [String: String] = [:]
        for pair in raw.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(kv[0]).removingPercentEncoding ?? String(kv[0])
            values[key] = kv.count > 1 ? (String(kv[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(kv[1])) : ""
        }
        return values
    }

    /// Who the request acts for and in which mode: a signed link's owner and mode, or the API key's
    /// caller and the `mode` it asked. Throws the refusal the HTTP route answers too.
    static func access(session id: String, query: [String: String], headers: HTTPFields, keys: APIKeyMiddleware?,
                       links: DesktopLinks) throws(APIError) -> (caller: String?, mode: DesktopLinks.Mode) {
        if let token = query["token"] {
            let granted = try links.verify(token, session: id)
            return (granted.owner, granted.mode)
        }
        let caller = try keys?.caller(headers)
        let asked = query["mode"] ?? DesktopLinks.Mode.interact.rawValue
        guard let mode = DesktopLinks.Mode(rawValue: asked) else {
            throw APIError(.invalidRequest, "mode must be view or interact, got '\(asked)'")
        }
        return (caller, mode)
    }

    static func shouldUpgrade(_ head: HTTPRequest, engine: Engine, keys: APIKeyMiddleware?, links: DesktopLinks) async -> ShouldUpgradeResult<Handler>? {
        guard let path = head.path, let (id, query) = target(path) else { return nil }
        let granted: (caller: String?, mode: DesktopLinks.Mode)
        do throws(APIError) { granted = try access(session: id, query: query, headers: head.headerFields, keys: keys, links: links) } catch { return .dontUpgrade }
        let context = ExecutionContext(caller: granted.caller, requestID: UUID().uuidString.lowercased())
        do throws(EngineError) { _ = try engine.desktopInfo(id, context: context) } catch { return .dontUpgrade }
        return .upgrade([:]) { inbound, outbound, _ in
            await serve(engine: engine, session: id, mode: granted.mode, context: context, inbound: inbound, outbound: outbound)
        }
    }

    static func serve(engine: Engine, session id: String, mode: DesktopLinks.Mode, context: ExecutionContext,
                      inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        let channel: JailChannel.Bytes
        do {
            channel = try await JailChannel.wrap(try await engine.desktopViewerConnection(id, context: context))
        } catch {
            let reason = (error as? EngineError)?.message ?? "\(error)"
            try? await outbound.close(.unexpectedServerError, reason: String(reason.utf8.prefix(120)) ?? "the desktop's VNC server is not reachable")
            return
        }
        try? await channel.executeThenClose { fromJail, toJail in
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await SessionKeepAlive.run(engine: engine, session: id, context: context) }
                group.addTask {
                    do { for try await buffer in fromJail { try await outbound.write(.binary(buffer)) } } catch {}
                    try? await outbound.close(.normalClosure, reason: "the desktop's VNC server closed the connection")
                }
                group.addTask {
                    var filter = mode == .view ? RFBViewOnlyFilter() : nil
                    do {
                        for try await message in inbound.messages(maxSize: 1 << 20) {
                            guard case .binary(let buffer) = message else { continue }
                            var bytes = buffer
                            if filter != nil {
                                let passed = try filter?.filter(Array(buffer.readableBytesView)) ?? []
                                if passed.isEmpty { continue }
                                bytes = ByteBuffer(bytes: passed)
                            }
                            try await toJail.write(bytes)
                        }
                    } catch let refused as RFBViewOnlyFilter.Refused {
                        // Said to the viewer (noVNC shows the reason), never a relay that silently stops.
                        try? await outbound.close(.policyViolation, reason: String("view-only: \(refused.reason)".utf8.prefix(120)) ?? "view-only")
                    } catch {}
                }
                await group.next()
                group.cancelAll()
            }
        }
    }
}
