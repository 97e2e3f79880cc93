import CorralEngine

/// `{ "results": [ result | { "error": {...} } ] }`, in request order.
struct BatchResponse: Encodable {
    var results: [Result<ExecutionResponse, EngineError>]

    enum CodingKeys: String, CodingKey, CaseIterable { case results }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        var list = c.nestedUnkeyedContainer(forKey: .results)
        for r in results {
            switch r {
            case .success(let response): try list.encode(response)
            case .failure(let error): try list.encode(ErrorBody(APIErrorCode(error.kind), error.message))
            }
        }
    }
}

extension BatchResponse: SchemaDescribed {
    /// Codes a batch item may be refused with, in place (the batch itself answers 200).
    static let itemErrors: [APIErrorCode] = [.invalidRequest, .unknownLanguage, .invalidLimit, .payloadTooLarge,
                                             .queueFull, .shuttingDown, .internalError]

    static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self) { key in
            switch key {
            case .results:
                JSONSchema.array(.exactlyOne([.ref("ExecutionResult"), ErrorBody.schema(codes: itemErrors)]))
                    .described("One per request, in order: its result, or why it was refused.")
            }
        }
    }
}
