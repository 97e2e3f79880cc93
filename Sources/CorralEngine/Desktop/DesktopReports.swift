/// A session's display.
public struct DesktopInfo: Sendable, Encodable, Equatable {
    /// The X display every exec in the session gets as `DISPLAY`.
    public var display: String
    public var width: Int
    public var height: Int
    public var depth: Int

    static let display = ":1"
    enum CodingKeys: String, CodingKey, CaseIterable { case display, width, height, depth }
}

/// What `POST .../desktop/actions` did.
public struct DesktopActionsReport: Sendable, Encodable {
    public var performed: Int
    public var executionTimeMs: Double
    enum CodingKeys: String, CodingKey, CaseIterable {
        case performed
        case executionTimeMs = "execution_time_ms"
    }
}

/// `GET .../desktop/windows`: the visible windows, top-level and inner.
public struct DesktopWindowList: Sendable, Encodable {
    public var windows: [DesktopWindow]
    enum CodingKeys: String, CodingKey, CaseIterable { case windows }
}

public struct DesktopWindow: Sendable, Encodable, Equatable {
    public var id: Int
    /// Its name (empty for most inner windows), as the program set it: untrusted text.
    public var title: String
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int
    enum CodingKeys: String, CodingKey, CaseIterable { case id, title, x, y, width, height }
}
