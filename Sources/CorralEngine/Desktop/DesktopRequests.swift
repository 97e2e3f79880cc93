/// A session's virtual display (seeds 001 and 002's desktop): `POST /v1/sessions` with
/// `desktop: {width, height, depth}`.
public struct DesktopSettings: Sendable, Codable, Equatable, KnownFields {
    public var width: Int?
    public var height: Int?
    public var depth: Int?

    public init(width: Int? = nil, height: Int? = nil, depth: Int? = nil) { self.width = width; self.height = height; self.depth = depth }

    enum CodingKeys: String, CodingKey, CaseIterable { case width, height, depth }
    public static let fieldNames = Set(CodingKeys.allCases.map(\.rawValue))
    public static var wholeNumberFields: Set<String> { fieldNames }

    public static let widths = 320...3840, heights = 200...2160, depths = [16, 24]
    /// The least memory a session with a desktop needs (the display server and a program or two).
    public static let minimumMemoryMB = 192

    /// The display's geometry; throws what to fix.
    func resolved() throws(EngineError) -> DesktopInfo {
        let w = width ?? 1024, h = height ?? 768, d = depth ?? 24
        guard Self.widths.contains(w) else { throw EngineError(.invalidRequest, "desktop.width must be between 320 and 3840, got \(w)", field: "desktop.width") }
        guard Self.heights.contains(h) else { throw EngineError(.invalidRequest, "desktop.height must be between 200 and 2160, got \(h)", field: "desktop.height") }
        guard Self.depths.contains(d) else { throw EngineError(.invalidRequest, "desktop.depth must be 16 or 24, got \(d)", field: "desktop.depth") }
        return DesktopInfo(display: DesktopInfo.display, width: w, height: h, depth: d)
    }
}

/// `POST /v1/sessions/{id}/desktop/actions`: done in order, with xdotool inside the jail.
public struct DesktopActionsRequest: Sendable, Codable, KnownFields {
    public var actions: [DesktopAction]
    public init(actions: [DesktopAction]) { self.actions = actions }
    enum CodingKeys: String, CodingKey, CaseIterable { case actions }
    public static let fieldNames = Set(CodingKeys.allCases.map(\.rawValue))
    public static var elementTypes: [String: any KnownFields.Type] { ["actions": DesktopAction.self] }
    public static let maxActions = 100
    /// Characters the `type` actions of one request type together (xdotool types them 12 ms apart:
    /// ~2 minutes). A request held the session longer than it could wait, and ended in a 500.
    public static let maxTypedCharacters = 10_000
}

/// One keyboard or mouse action.
public struct DesktopAction: Sendable, Codable, KnownFields, Equatable {
    /// move, click, double_click, drag, scroll, type, key.
    public var type: String
    public var x: Int?
    public var y: Int?
    public var toX: Int?
    public var toY: Int?
    /// left (default), middle or right.
    public var button: String?
    /// For `type`: the text.
    public var text: String?
    /// For `key`: a key or a combination, as X names them (`Return`, `ctrl+s`, `alt+F4`).
    public var key: String?
    /// For `scroll`: notches, down when positive, up when negative.
    public var amount: Int?

    public init(type: String, x: Int? = nil, y: Int? = nil, text: String? = nil, key: String? = nil) {
        self.type = type; self.x = x; self.y = y; self.text = text; self.key = key
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case type, x, y, button, text, key, amount
        case toX = "to_x"
        case toY = "to_y"
    }
    public static let fieldNames = Set(CodingKeys.allCases.map(\.rawValue))
    public static var wholeNumberFields: Set<String> { ["x", "y", "to_x", "to_y", "amount"] }

    public static let types = ["move", "click", "double_click", "drag", "scroll", "type", "key"]
    static let buttons = ["left": "1", "middle": "2", "right": "3"]
}

/// A region of the screen for a screenshot, scaled down by a whole factor.
public struct DesktopRegion: Sendable, Equatable {
    public var x = 0, y = 0
    /// 0: to the screen's edge.
    public var width = 0, height = 0
    public var scale = 1
    public init(x: Int = 0, y: Int = 0, width: Int = 0, height: Int = 0, scale: Int = 1) {
        self.x = x; self.y = y; self.width = width; self.height = height; self.scale = scale
    }
}
