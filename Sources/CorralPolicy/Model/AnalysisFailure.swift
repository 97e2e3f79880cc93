/// Why the code could not be analysed on its syntax tree. The report then
/// carries the pattern scan's findings instead, and says so.
public struct AnalysisFailure: Error, Sendable, Codable, Hashable, CustomStringConvertible {
    /// A stable, machine-readable reason. Designed to grow: decode unknown values leniently.
    public struct Code: RawRepresentable, Sendable, Codable, Hashable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The code does not parse (the interpreter would refuse it too).
        public static let syntaxError = Code(rawValue: "syntax_error")
        /// The parser available (esprima 4: ECMAScript 2017) does not know this syntax; patterns were used.
        public static let unsupportedSyntax = Code(rawValue: "unsupported_syntax")
        /// Nesting or size beyond what the analyzer can take (recursion, parser stack, memory).
        public static let tooComplex = Code(rawValue: "too_complex")
        /// The analysis ran out of its time limit.
        public static let timeout = Code(rawValue: "timeout")
        /// The analyzer died of a signal (the parser crashed on this input).
        public static let analyzerCrashed = Code(rawValue: "analyzer_crashed")
        /// The analyzer failed or printed something unreadable.
        public static let analyzerFailed = Code(rawValue: "analyzer_failed")
        /// No jail could be started for the analyzer.
        public static let analyzerUnavailable = Code(rawValue: "analyzer_unavailable")
        /// The language has no rule set.
        public static let unknownLanguage = Code(rawValue: "unknown_language")

        public init(from decoder: any Decoder) throws {
            rawValue = try decoder.singleValueContainer().decode(String.self)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            try c.encode(rawValue)
        }
    }

    public var code: Code
    public var message: String
    /// Where the parser stopped, when it says (1-based).
    public var line: Int?
    public var column: Int?

    public init(code: Code, message: String, line: Int? = nil, column: Int? = nil) {
        self.code = code
        self.message = message
        self.line = line
        self.column = column
    }

    /// Whether the failure leaves code unchecked that could still run. A syntax error does not
    /// (the interpreter refuses the code as well); an analyzer that gave up does.
    public var leavesCodeUnchecked: Bool {
        code != .syntaxError && code != .unsupportedSyntax
    }

    public var description: String {
        var s = "\(code.rawValue): \(message)"
        if let line { s += " (line \(line)\(column.map { ", column \($0)" } ?? ""))" }
        return s
    }

    enum CodingKeys: String, CodingKey { case code, message, line, column }

    /// Encodes every field, `null` included, so clients see one stable shape.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(code, forKey: .code)
        try c.encode(message, forKey: .message)
        try c.encode(line, forKey: .line)
        try c.encode(column, forKey: .column)
    }
}
