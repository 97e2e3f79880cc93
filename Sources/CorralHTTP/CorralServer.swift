import CorralEngine
import Hummingbird
import HummingbirdWebSocket
import Logging
import ServiceLifecycle
import Synchronization

/// The HTTP front end: routes translate JSON to engine calls and back, nothing more.
public struct CorralServer: Sendable {
    public let engine: Engine
    public let http: HTTPConfiguration
    public let state = ServerState()
    /// Signs the desktop viewer's links with a secret of this server's own.
    public let links = DesktopLinks()

    public init(engine: Engine, http: HTTPConfiguration) {
        self.engine = engine
        self.http = http
    }

    public func router() -> Router<CorralRequestContext> {
        let router = Router(context: CorralRequestContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: RouteContractMiddleware())
        if !http.apiKeys.isEmpty { router.add(middleware: APIKeyMiddleware(keys: http.apiKeys)) }
        addExecuteRoutes(to: router)
        addInfoRoutes(to: router)
        addSessionRoutes(to: router)
        addDesktopViewerRoutes(to: router)
        addJupyterRoutes(to: router)
        addTaskRoutes(to: router)
        addHistoryRoutes(to: router)
        return router
    }

    /// The OpenAPI document of this server: its routes, and schemas with its engine's bounds.
    public func openAPIDocument(version: String = OpenAPIDocument.defaultVersion) -> OpenAPIDocument {
        OpenAPIDocument(context: engine.schemaContext(maxBatchSize: http.maxBatchSize), http: http, version: version)
    }

    /// The Hummingbird application (a `Service`: run it in a `ServiceGroup`).
    /// HTTP/1.1 with WebSocket upgrades of a session process's connect path (`ProcessSocket`), a desktop's
    /// viewer (`DesktopViewerSocket`) and a Jupyter kernel's channels (`JupyterSocket`).
    /// The HTTP application; `services` run beside the server (they start before it and get its graceful shutdown).
    public func application(logger: Logger, services: [any Service] = [],
                            onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let engine = self.engine, links = self.links
        let keys = http.apiKeys.isEmpty ? nil : APIKeyMiddleware(keys: http.apiKeys)
        return Application(router: router(),
                           server: .http1WebSocketUpgrade { head, _, _ in
                               if let viewer = await DesktopViewerSocket.shouldUpgrade(head, engine: engine, keys: keys, links: links) { return viewer }
                               if let jupyter = await JupyterSocket.shouldUpgrade(head, engine: engine, keys: keys) { return jupyter }
                               return await ProcessSocket.shouldUpgrade(head, engine: engine, keys: keys)
                           },
                           configuration: .init(address: .hostname(http.host, port: http.port), serverName: "corral"),
                           services: services,
                           onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
                           logger: logger)
    }
}

/// Whether the server is draining (shutting down): `/readyz` fails and status says so.
public final class ServerState: Sendable {
    private let draining = Mutex(false)
    public init() {}
    public var isDraining: Bool { draining.withLock { $0 } }
    public func beginDraining() { draining.withLock { $0 = true } }
    public var serviceState: ServiceState { isDraining ? .draining : .running }
}
