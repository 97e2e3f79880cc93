@testable import CorralHTTP
import Foundation
import Logging
import Testing

/// The service's log line: one JSON object, sorted keys, strings escaped, slashes left alone.
@Suite struct JSONLogHandlerTests {
    static func line(_ value: Logger.Metadata.Value) -> String {
        var bytes: [UInt8] = []
        JSONLogHandler.append(value, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test("escapes quotes, backslashes and control characters; a JSON parser reads back the same text")
    func escaping() throws {
        let text = "a \"quote\", a \\ backslash,\nnew line\ttab\r\u{1}\u{1F} é ✓ http://x/y"
        let encoded = Self.line(.dictionary(["message": .string(text)]))
        #expect(encoded.contains("http://x/y"), "slashes are not escaped: \(encoded)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(encoded.utf8)) as? [String: String])
        #expect(object["message"] == text)
    }

    @Test("keys are sorted at every level; arrays, objects and string-convertible values nest")
    func structure() throws {
        let encoded = Self.line(.dictionary([
            "z": .string("last"), "a": .stringConvertible(42),
            "m": .array([.string("x"), .dictionary(["k2": .string("2"), "k1": .string("1")])]),
        ]))
        #expect(encoded == #"{"a":"42","m":["x",{"k1":"1","k2":"2"}],"z":"last"}"#)
    }

    @Test("the timestamp is RFC 3339 UTC with milliseconds")
    func timestamp() {
        let stamp = JSONLogHandler.timestamp()
        #expect(stamp.count == 24, "\(stamp)")
        #expect(stamp.hasSuffix("Z") && stamp.dropFirst(10).first == "T", "\(stamp)")
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let parsed = formatter.date(from: stamp)
        #expect(parsed.map { abs($0.timeIntervalSinceNow) < 60 } == true, "\(stamp)")
    }
}
