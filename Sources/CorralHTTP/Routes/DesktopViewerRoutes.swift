import CorralEngine
import Foundation
import Hummingbird

/// The desktop viewer's routes (`APIRoute.viewerRoutes`): signed links, noVNC's page files, and the
/// RFB WebSocket's plain-HTTP answer (the upgrade itself is `DesktopViewerSocket`).
extension CorralServer {
    func addDesktopViewerRoutes(to router: Router<CorralRequestContext>) {
        let engine = self.engine, http = self.http, links = self.links
        let keys = http.apiKeys.isEmpty ? nil : APIKeyMiddleware(keys: http.apiKeys)
        func on(_ route: APIRoute, _ handler: @escaping @Sendable (Request, CorralRequestContext, ExecutionContext) async throws -> Response) {
            router.on(RouterPath(route.routerPath), method: route.method) { request, context in
                try await handler(request, context, ExecutionContext(caller: context.caller, requestID: context.requestID))
            }
        }
        @Sendable func desktop(_ id: String, _ ctx: ExecutionContext) throws {
            do throws(EngineError) { _ = try engine.desktopInfo(id, context: ctx) } catch { throw APIError(error) }
        }

        on(.desktopURL) { request, context, ctx in
            let id = try context.parameters.require("id")
            try desktop(id, ctx)
            let asked = try await JSONBody.decode(DesktopLinkRequest.self, from: request, limit: http.maxBodyBytes).resolved()
            let expiry = Int(Date().timeIntervalSince1970) + asked.seconds
            let token = links.token(session: id, owner: ctx.caller, mode: asked.mode, expiry: expiry)
            let socket = "v1/sessions/\(id)/desktop/vnc?token=\(token)"
            let encoded = socket.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? socket
            let page = "/v1/sessions/\(id)/desktop/signed/\(token)/vnc.html?autoconnect=1&reconnect=1&resize=scale"
                + "&view_only=\(asked.mode == .view ? 1 : 0)&path=\(encoded)"
            return try JSONBody.response(DesktopLink(url: page, websocketPath: "/" + socket, mode: asked.mode.rawValue,
                                                     expiresAt: Date(timeIntervalSince1970: Double(expiry)).ISO8601Format()))
        }
        on(.desktopVNC) { request, context, ctx in
            let id = try context.parameters.require("id")
            let query = DesktopViewerSocket.query((request.head.path ?? "").split(separator: "?", maxSplits: 1).dropFirst().first ?? "")
            let granted = try DesktopViewerSocket.access(session: id, query: query, headers: request.headers, keys: keys, links: links)
            try desktop(id, ExecutionContext(caller: granted.caller, requestID: ctx.requestID))
            throw APIError(.invalidRequest, "this is a WebSocket: send 'Upgrade: websocket' (noVNC does; POST .../desktop/url makes a page for a browser)")
        }
        on(.desktopPage) { request, context, ctx in
            let id = try context.parameters.require("id")
            try desktop(id, ctx)
            return try Self.novncFile(request, prefix: "/v1/sessions/\(id)/desktop/novnc/", root: http.novncDirectory)
        }
        on(.desktopSignedPage) { request, context, ctx in
            let id = try context.parameters.require("id"), token = try context.parameters.require("token")
            let granted = try links.verify(token, session: id)
            try desktop(id, ExecutionContext(caller: granted.owner, requestID: ctx.requestID))
            return try Self.novncFile(request, prefix: "/v1/sessions/\(id)/desktop/signed/\(token)/", root: http.novncDirectory)
        }
    }

    static let novncTypes = ["html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
                             "svg": "image/svg+xml", "png": "image/png", "ico": "image/x-icon", "json": "application/json",
                             "woff": "font/woff", "woff2": "font/woff2", "ttf": "font/ttf", "oga": "audio/ogg", "mp3": "audio/mpeg"]

    /// One of noVNC's files (a package's, read-only on the host): the path after `prefix`, without
    /// `..`, hidden names or anything but plain names joined by slashes.
    static func novncFile(_ request: Request, prefix: String, root: String) throws -> Response {
        let raw = request.uri.path
        guard raw.hasPrefix(prefix) else { throw APIError(.notFound, "no such noVNC file: the page is vnc.html") }
        let relative = String(raw.dropFirst(prefix.count)).removingPercentEncoding ?? ""
        let segments = relative.split(separator: "/", omittingEmptySubsequences: false)
        guard !segments.isEmpty, relative.utf8.count <= 512,
              segments.allSatisfy({ !$0.isEmpty && !$0.hasPrefix(".") && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) } }) else {
            throw APIError(.notFound, "no noVNC file '\(relative.prefix(100))': the page is vnc.html")
        }
        let path = root + "/" + relative
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
              let data = FileManager.default.contents(atPath: path) else {
            throw APIError(.notFound, "no noVNC file '\(relative)' in \(root) (is Debian's novnc installed? scripts/bootstrap installs it)")
        }
        let type = novncTypes[String(relative.split(separator: ".").last ?? "")] ?? "application/octet-stream"
        return bytes(Array(data), type: type)
    }
}
