import CorralEngine

/// The JSON of every error response, and of a batch item that was refused.
struct ErrorBody: Encodable {
    struct Inner: Encodable {
        var code: String
        var message: String
        enum CodingKeys: String, CodingKey, CaseIterable { case code, message }
    }
    var error: Inner

    init(_ code: APIErrorCode, _ message: String) { error = Inner(code: code.rawValue, message: message) }

    enum CodingKeys: String, CodingKey, CaseIterable { case error }

    /// The error object; `codes` narrows `code` to those a response may carry.
    static func schema(codes: [APIErrorCode] = APIErrorCode.allCases) -> JSONSchema {
        .object(CodingKeys.self) { key in
            switch key {
            case .error:
                .object(Inner.CodingKeys.self) { key in
                    switch key {
                    case .code: .enumeration(codes.map(\.rawValue))
                    case .message: JSONSchema.string().described("What went wrong and what to do about it.")
                    }
                }
            }
        }
    }
}
