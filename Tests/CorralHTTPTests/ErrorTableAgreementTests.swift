import CorralEngine
import CorralHTTP
import Hummingbird
import Testing

/// The engine's error table (`EngineError.Code`: HTTP status, JSON code) is what every front end
/// maps through; the HTTP layer's `APIErrorCode` adds the transport's own errors (401, 405, 415).
/// For every engine code both must say the same, or HTTP and the CLI would disagree.
struct ErrorTableAgreementTests {
    @Test(arguments: EngineError.Code.allCases)
    func theHTTPTableAgreesWithTheEngines(code: EngineError.Code) {
        let http = APIErrorCode(code)
        #expect(Int(http.status.code) == code.httpStatus, "\(code): HTTP \(http.status.code), engine \(code.httpStatus)")
        #expect(http.rawValue == code.jsonCode)
    }
}
