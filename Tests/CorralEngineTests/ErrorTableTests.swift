import CorralEngine
import Testing

/// One table maps every engine error to its HTTP status and JSON code; the first names still work.
@Suite("Engine error table")
struct ErrorTableTests {
    @Test func everyCodeHasItsStatusAndJSONCode() {
        let table: [EngineError.Code: (Int, String)] = [
            .invalidRequest: (400, "invalid_request"), .unknownLanguage: (400, "unknown_language"),
            .invalidLimit: (400, "invalid_limit"), .notFound: (404, "not_found"),
            .payloadTooLarge: (413, "payload_too_large"), .queueFull: (429, "queue_full"),
            .internalError: (500, "internal_error"), .shuttingDown: (503, "shutting_down"),
            .forbidden: (403, "forbidden"), .conflict: (409, "conflict"), .gone: (410, "gone"),
            .limitReached: (429, "limit_reached"),
        ]
        #expect(Set(table.keys) == Set(EngineError.Code.allCases), "every code is in the table")
        for code in EngineError.Code.allCases {
            #expect(code.httpStatus == table[code]?.0, "\(code)")
            #expect(code.jsonCode == table[code]?.1, "\(code)")
            #expect(code.isCallerError == (code.httpStatus < 500))
        }
    }

    @Test func theFirstNamesStillWork() {
        let error = EngineError(.queueFull, "busy", retryAfterSeconds: 3)
        let kind: EngineError.Kind = error.kind
        #expect(kind == .queueFull)
        #expect(error.kind.rawValue == "queue_full")
        #expect(error.retryAfterSeconds == 3)
        #expect(error.description == "busy")
    }
}
