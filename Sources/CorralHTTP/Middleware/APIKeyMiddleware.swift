import HTTPTypes
import Hummingbird

/// Requires a valid API key (`Authorization: Bearer KEY` or `X-API-Key: KEY`)
/// on every route but the health checks. Keys are compared in constant time.
struct APIKeyMiddleware: RouterMiddleware {
    typealias Context = CorralRequestContext
    /// Key → the caller's name recorded in history.
    let keys: [(name: String, key: [UInt8])]
    static let open: Set<String> = ["/healthz", "/readyz"]
    static let header = HTTPField.Name("X-API-Key")!

    init(keys: [String: String]) {
        self.keys = keys.map { (name: $0.key, key: Array($0.value.utf8)) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.open.contains(request.uri.path) || Self.signedLink(request) { return try await next(request, context) }
        var context = context
        context.caller = try caller(request.headers)
        return try await next(request, context)
    }

    /// A request a signed desktop link authorizes instead of a key: its route verifies the token
    /// (`DesktopLinks.verify`) before it does anything, and answers 403 for a bad one.
    static func signedLink(_ request: Request) -> Bool {
        let path = request.uri.path[...]
        if APIRoute.desktopSignedPage.matches(path) { return true }
        return APIRoute.desktopVNC.matches(path) && request.uri.queryParameters.get("token") != nil
    }

    /// The name of the key `headers` present, or the 401 that refuses them (a WebSocket upgrade asks too).
    func caller(_ headers: HTTPFields) throws(APIError) -> String {
        var presented: String?
        if let auth = headers[.authorization], auth.lowercased().hasPrefix("bearer ") {
            presented = String(auth.dropFirst(7))
        } else if let key = headers[Self.header] {
            presented = key
        }
        guard let presented else {
            throw APIError(.unauthorized, "an API key is required: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'")
        }
        let bytes = Array(presented.utf8)
        var match: String?
        for candidate in keys where Self.constantTimeEquals(bytes, candidate.key) { match = candidate.name }
        guard let match else {
            throw APIError(.unauthorized, "the API key is not valid")
        }
        return match
    }

    /// Compares without an early exit, so timing tells nothing about how much matched.
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for i in 0..<max(a.count, b.count) {
            diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return diff == 0
    }
}
