import CorralEngine
import Hummingbird

/// Watching a session's desktop (noVNC) and its Jupyter server, through Corral (docs/desktop.md).
extension APIRoute {
    static let fileMedia: [String: JSONSchema] = ["*/*": JSONSchema(["type": "string", "format": "binary"])]

    public static let desktopURL = APIRoute(method: .post, path: "/v1/sessions/{id}/desktop/url", operationID: "desktopViewerURL",
        summary: "A short-lived signed link to the noVNC page of the session's desktop, for a browser (no API key needed with it); view-only or interactive.",
        requestSchema: "DesktopLinkRequest", responseSchema: "DesktopLink", errors: sessionBodyErrors)
    public static let desktopVNC = APIRoute(method: .get, path: "/v1/sessions/{id}/desktop/vnc", operationID: "desktopVNC",
        summary: "A WebSocket (send Upgrade: websocket) carrying the RFB stream of the session's VNC server in binary messages. "
            + "With the API key (mode view or interact) or a signed link's token (403 when forged or expired). Without the upgrade: 400.",
        responseSchema: nil, query: [.viewerToken, .viewerMode], errors: sessionErrors + [.forbidden],
        responseMedia: ["text/plain": JSONSchema(["type": "string"]).described("Never sent: a connection that is upgraded speaks WebSocket.")])
    public static let desktopPage = APIRoute(method: .get, path: "/v1/sessions/{id}/desktop/novnc/{path}", operationID: "desktopPage",
        summary: "noVNC's page files (vnc.html and what it loads), with the API key.",
        responseSchema: nil, errors: sessionErrors, responseMedia: fileMedia, catchAll: true, anyQuery: true)
    public static let desktopSignedPage = APIRoute(method: .get, path: "/v1/sessions/{id}/desktop/signed/{token}/{path}", operationID: "desktopSignedPage",
        summary: "noVNC's page files under a signed link (POST .../desktop/url makes it): no API key; 403 when the token is forged or expired.",
        responseSchema: nil, errors: sessionErrors + [.forbidden], responseMedia: fileMedia, catchAll: true, anyQuery: true)

    public static let startJupyter = APIRoute(method: .post, path: "/v1/sessions/{id}/jupyter", operationID: "startJupyter",
        summary: "Start Jupyter (the notebook server) in the session, reachable only through Corral at /v1/sessions/{id}/jupyter/ (the proxy adds Jupyter's token). "
            + "Already running: its address. 409 when the session cannot start a process now (its process limit); failing to start: 500 with its stderr's tail.",
        responseSchema: "JupyterReport", errors: sessionErrors)

    static func jupyterProxy(_ method: HTTPRequest.Method) -> APIRoute {
        APIRoute(method: method, path: "/v1/sessions/{id}/jupyter/{path}", operationID: "jupyterProxy\(method.rawValue.capitalized)",
                 summary: "Jupyter's HTTP API and pages (and kernel WebSockets, with Upgrade: websocket), proxied with Corral's own auth; "
                    + "any body and query pass through. 409 when Jupyter is not running.",
                 responseSchema: nil, errors: [.invalidRequest, .notFound, .gone, .conflict, .payloadTooLarge, .limitReached, .internalError], catchAll: true, passThrough: true)
    }
    public static let jupyterProxies: [APIRoute] = [.get, .post, .put, .patch, .delete].map(jupyterProxy)

    static let viewerRoutes: [APIRoute] = [desktopURL, desktopVNC, desktopPage, desktopSignedPage, startJupyter] + jupyterProxies
}

extension QueryParameter {
    public static let viewerToken = QueryParameter(name: "token", description: "A signed link's token (POST .../desktop/url), instead of the API key.") { _ in
        .string(pattern: "^[0-9]{1,12}\\.[vi]\\.[0-9a-f]{0,512}\\.[0-9a-f]{64}$")
    }
    public static let viewerMode = QueryParameter(name: "mode", description: "With the API key: interact (default) or view (input dropped).") { _ in
        .enumeration(DesktopLinks.Mode.allCases.map(\.rawValue))
    }
}
