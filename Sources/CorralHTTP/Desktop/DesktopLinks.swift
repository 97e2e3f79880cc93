import Crypto
import Foundation

/// Short-lived signed links to a session's desktop viewer, for browsers (which cannot send the API
/// key with a page's scripts and its WebSocket). A token is `EXPIRY.MODE.OWNER.MAC`: the expiry in
/// Unix seconds, `v` (view only) or `i` (interactive), the name of the key that minted it (hex; the
/// session's owner, whose calls the link stands for), and an HMAC-SHA256 over the session id, the
/// expiry, the mode and the owner, keyed with a secret each server makes at start (a restart voids
/// every link).
public struct DesktopLinks: Sendable {
    private let key: SymmetricKey

    /// Longest and default life of a link.
    public static let maxSeconds = 3600, defaultSeconds = 300

    public enum Mode: String, Sendable, CaseIterable {
        case view, interact
        var letter: String { self == .view ? "v" : "i" }
    }

    public init() { key = SymmetricKey(size: .bits256) }

    /// A token for `session` in `mode`, valid until `expiry` (Unix seconds).
    public func token(session: String, owner: String?, mode: Mode, expiry: Int) -> String {
        let ownerHex = Self.hex(Array((owner ?? "").utf8))
        return "\(expiry).\(mode.letter).\(ownerHex).\(Self.hex(mac(Self.message(session: session, expiry: expiry, letter: mode.letter, owner: ownerHex))))"
    }

    /// The mode a token grants on `session` and the owner it stands for (nil: a server without keys),
    /// or why it is refused (forged, another session's, expired).
    public func verify(_ token: String, session: String, now: Double = Date().timeIntervalSince1970) throws(APIError) -> (mode: Mode, owner: String?) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0].count <= 12, let expiry = Int(parts[0]), let mode = Mode.allCases.first(where: { $0.letter == parts[1] }),
              parts[2].count <= 512, let ownerBytes = Self.bytes(hex: parts[2]), parts[3].count == 64, let given = Self.bytes(hex: parts[3]) else {
            throw APIError(.forbidden, "the desktop link's token is malformed: mint one with POST /v1/sessions/\(session)/desktop/url")
        }
        let message = Self.message(session: session, expiry: expiry, letter: mode.letter, owner: String(parts[2]))
        guard HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: message, using: key) else {
            throw APIError(.forbidden, "the desktop link's signature is not valid for this session (links die with the server that made them): mint one with POST /v1/sessions/\(session)/desktop/url")
        }
        guard Double(expiry) > now else {
            throw APIError(.forbidden, "the desktop link expired at \(expiry) (Unix seconds): mint a new one with POST /v1/sessions/\(session)/desktop/url")
        }
        return (mode, ownerBytes.isEmpty ? nil : String(decoding: ownerBytes, as: UTF8.self))
    }

    private func mac(_ message: [UInt8]) -> [UInt8] { Array(HMAC<SHA256>.authenticationCode(for: message, using: key)) }

    private static func message(session: String, expiry: Int, letter: String, owner: String) -> [UInt8] {
        Array("corral-desktop-link\n\(session)\n\(expiry)\n\(letter)\n\(owner)".utf8)
    }

    private static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    private static func bytes(hex: Substring) -> [UInt8]? {
        var out: [UInt8] = []
        var iterator = hex.utf8.makeIterator()
        while let high = iterator.next() {
            guard let low = iterator.next(), let h = nibble(high), let l = nibble(low) else { return nil }
            out.append(h << 4 | l)
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
