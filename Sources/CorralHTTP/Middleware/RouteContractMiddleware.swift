import HTTPTypes
import Hummingbird

/// Holds every request to the route table before any handler runs, so that what the server
/// answers is what `/openapi.json` says: an unknown path is a 404 and a known path with another
/// method a 405 with `Allow` (both with the JSON error body); a query parameter the route does
/// not take is a 400 (a typo is never ignored); a body that is not declared as JSON is a 415.
struct RouteContractMiddleware: RouterMiddleware {
    typealias Context = CorralRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path[...]
        let routes = APIRoute.routes(at: path)
        guard !routes.isEmpty else {
            throw APIError(.notFound, "no route \(request.uri.path); GET /openapi.json lists the routes")
        }
        guard let route = routes.first(where: { $0.method == request.method }) else {
            var error = APIError(.methodNotAllowed, "\(request.uri.path) takes \(routes.map(\.method.rawValue).joined(separator: ", ")), not \(request.method.rawValue)")
            error.allowedMethods = routes.map(\.method)
            throw error
        }
        let known = route.query.map(\.name)
        for (name, _) in request.uri.queryParameters where !route.passThrough && !route.anyQuery && !known.contains(String(name)) {
            let takes = known.isEmpty ? "takes no query parameters" : "takes \(known.joined(separator: ", "))"
            throw APIError(.invalidRequest, "unknown query parameter '\(name)': \(route.path) \(takes)")
        }
        if route.requestSchema != nil, !JSONBody.isJSON(contentType: request.headers[.contentType]) {
            throw APIError(.unsupportedMediaType, "the body must be JSON: send 'Content-Type: application/json' (no Content-Type, or curl's default for -d, is read as JSON too)")
        }
        return try await next(request, context)
    }
}
