import CorralTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// `POST /v1/execute/batch` under repetition: every item gets its own result, in order.
/// Each item prints its own number, so a result in the wrong slot (the batch crash came from
/// children reporting an index they never wrote) shows as a wrong `stdout`, not only as a trap.
@Suite(.enabled(if: TestSupport.jailsAvailable))
struct BatchRouteTests {
    @Test("batches of 1 to 100 mixed-language items, 20 rounds: every item its own result, the server stays up")
    func repeatedMixedBatches() async throws {
        try await TestService(workers: 2, queue: 256, maxBatchSize: 100).live { client in
            for (round, size) in MixedBatch.sizes.enumerated() {
                let items = MixedBatch.round(round)
                let (status, _, body) = try await client.post("/v1/execute/batch", json: ["requests": items.map(\.request)])
                #expect(status == .ok, "round \(round): \(status) \(body)")
                let results = body["results"] as? [[String: Any]] ?? []
                #expect(results.count == size, "round \(round): \(results.count) results for \(size) items")
                for (index, result) in results.enumerated() {
                    #expect(result["status"] as? String == "success", "round \(round) item \(index): \(result)")
                    #expect(result["stdout"] as? String == items[index].stdout, "round \(round) item \(index): \(result)")
                }
                let (health, _, _, _) = try await client.get("/healthz")
                #expect(health == .ok, "round \(round): the server stopped answering")
            }
        }
    }

    @Test("a batch item is checked like a single request: an unknown field is a 400 naming the item")
    func unknownFieldInItem() async throws {
        try await TestService().live { client in
            var (status, _, body) = try await client.post("/v1/execute/batch", json: ["requests": [
                ["code": "print(1)", "language": "python"],
                ["code": "print(2)", "language": "python", "timeout": 5],
            ]])
            #expect(status == .badRequest && errorCode(body) == "invalid_request", "\(body)")
            #expect(errorMessage(body).contains("unknown field 'timeout' in requests[1]"), "\(errorMessage(body))")
            #expect(errorMessage(body).contains("timeout_seconds"), "suggests the field meant: \(errorMessage(body))")
            // The same typo in a single request gets the same answer.
            let (single, _, singleBody) = try await client.post("/v1/execute", json: ["code": "print(2)", "language": "python", "timeout": 5])
            #expect(single == .badRequest && errorMessage(singleBody).contains("unknown field 'timeout'"))
            // An unknown top-level field of the batch itself.
            (status, _, body) = try await client.post("/v1/execute/batch", json: ["requests": [["code": "print(1)", "language": "python"]], "request": []])
            #expect(status == .badRequest && errorMessage(body).contains("unknown field 'request'"), "\(body)")
            // Items that are not objects are a type error, not a crash.
            (status, _, body) = try await client.post("/v1/execute/batch", json: ["requests": [1, "x"]])
            #expect(status == .badRequest, "\(body)")
            (status, _, body) = try await client.post("/v1/execute/batch", json: ["requests": "print(1)"])
            #expect(status == .badRequest, "\(body)")
            // The items together ask for more output than one request may: refused whole, before any runs.
            let big = (0..<3).map { _ in ["code": "print(1)", "language": "python", "max_output_size": 30 << 20] as [String: Any] }
            (status, _, body) = try await client.post("/v1/execute/batch", json: ["requests": big])
            #expect(status == .badRequest && errorMessage(body).contains("together may ask for at most"), "\(body)")
            (status, _, body) = try await client.post("/v1/execute/batch", json: ["requests": Array(big.prefix(2))])
            #expect(status == .ok, "two of them fit: \(body)")
            // Valid items still run.
            (status, _, body) = try await client.post("/v1/execute/batch", json: ["requests": [["code": "print(3)", "language": "python"]]])
            #expect(status == .ok && (body["results"] as? [[String: Any]])?.first?["stdout"] as? String == "3\n")
        }
    }
}
