import CorralEngine

/// `POST /v1/sessions/{id}/desktop/url`.
struct DesktopLinkRequest: Sendable, Codable, KnownFields {
    var mode: String?
    var ttlSeconds: Int?
    enum CodingKeys: String, CodingKey, CaseIterable {
        case mode
        case ttlSeconds = "ttl_seconds"
    }
    static let fieldNames = Set(CodingKeys.allCases.map(\.rawValue))
    static var wholeNumberFields: Set<String> { [CodingKeys.ttlSeconds.rawValue] }

    func resolved() throws(APIError) -> (mode: DesktopLinks.Mode, seconds: Int) {
        let asked = mode ?? DesktopLinks.Mode.view.rawValue
        guard let mode = DesktopLinks.Mode(rawValue: asked) else {
            throw APIError(.invalidRequest, "mode must be view or interact, got '\(asked)'")
        }
        let seconds = ttlSeconds ?? DesktopLinks.defaultSeconds
        guard (1...DesktopLinks.maxSeconds).contains(seconds) else {
            throw APIError(.invalidRequest, "ttl_seconds must be 1 to \(DesktopLinks.maxSeconds), got \(seconds)")
        }
        return (mode, seconds)
    }

    static func schema(in context: SchemaContext) -> JSONSchema {
        .object([("mode", JSONSchema.enumeration(DesktopLinks.Mode.allCases.map(\.rawValue)).orNull.described("view (default: input is dropped) or interact.")),
                 ("ttl_seconds", JSONSchema.integer(minimum: 1, maximum: DesktopLinks.maxSeconds).orNull.described("Life of the link, seconds (default 300)."))],
                required: [])
    }
}

/// What the link is: the page to open (relative to the server), its WebSocket, when it dies.
struct DesktopLink: Sendable, Encodable {
    var url: String
    var websocketPath: String
    var mode: String
    var expiresAt: String
    enum CodingKeys: String, CodingKey, CaseIterable {
        case url, mode
        case websocketPath = "websocket_path"
        case expiresAt = "expires_at"
    }

    static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self) { key in
            switch key {
            case .url: JSONSchema.string(minLength: 1).described("The noVNC page, a path on this server: open it in a browser as it is.")
            case .websocketPath: JSONSchema.string(minLength: 1).described("The RFB WebSocket the page connects to (token included).")
            case .mode: JSONSchema.enumeration(DesktopLinks.Mode.allCases.map(\.rawValue))
            case .expiresAt: JSONSchema.string().described("When the link stops working (ISO 8601).")
            }
        }
    }
}
