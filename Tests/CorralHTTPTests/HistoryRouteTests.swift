import CorralEngine
import CorralHTTP
import CorralTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite(.enabled(if: TestSupport.jailsAvailable))
struct HistoryRouteTests {
    @Test("history: every execution recorded, filters, pagination, one by id")
    func historyFiltersAndPaging() async throws {
        try await TestService().live { client in
            let before = Date().addingTimeInterval(-1)
            for i in 0..<5 { _ = try await client.post("/v1/execute", json: ["code": "print(\(i))", "language": "python"]) }
            _ = try await client.post("/v1/execute", json: ["code": "exit 2", "language": "bash"])
            _ = try await client.post("/v1/execute", json: ["code": "console.log(1)", "language": "javascript"],
                                      headers: [.init("X-Request-ID")!: "corr-42"])

            var (status, _, page, _) = try await client.get("/v1/executions")
            #expect(status == .ok && page["total"] as? Int == 7 && page["count"] as? Int == 7)
            let all = page["executions"] as? [[String: Any]] ?? []
            #expect(all.first?["language"] as? String == "javascript", "newest first")
            #expect(all.first?["request_id"] as? String == "corr-42")

            (status, _, page, _) = try await client.get("/v1/executions?language=python&limit=2&offset=0")
            #expect(page["total"] as? Int == 5 && page["count"] as? Int == 2)
            let firstPage = (page["executions"] as? [[String: Any]] ?? []).compactMap { $0["execution_id"] as? String }
            (status, _, page, _) = try await client.get("/v1/executions?language=python&limit=2&offset=2")
            let secondPage = (page["executions"] as? [[String: Any]] ?? []).compactMap { $0["execution_id"] as? String }
            #expect(Set(firstPage).isDisjoint(with: secondPage) && secondPage.count == 2)

            (status, _, page, _) = try await client.get("/v1/executions?status=error")
            #expect(page["total"] as? Int == 1)
            #expect((page["executions"] as? [[String: Any]])?.first?["exit_code"] as? Int == 2)

            let since = ISO8601DateFormatter().string(from: before)
            (status, _, page, _) = try await client.get("/v1/executions?since=\(since)&until=\(Date().timeIntervalSince1970 + 5)")
            #expect(page["total"] as? Int == 7)
            (status, _, page, _) = try await client.get("/v1/executions?until=\(before.timeIntervalSince1970)")
            #expect(page["total"] as? Int == 0)

            (status, _, page, _) = try await client.get("/v1/executions?limit=5000")
            #expect(status == .badRequest)
            (status, _, page, _) = try await client.get("/v1/executions?offset=-1")
            #expect(status == .badRequest)
            (status, _, page, _) = try await client.get("/v1/executions?limit=abc")
            #expect(status == .badRequest)

            let id = firstPage[0]
            let (one, _, record, _) = try await client.get("/v1/executions/\(id)")
            #expect(one == .ok && record["execution_id"] as? String == id && record["code_hash"] as? String != nil)
            let (missing, _, body, _) = try await client.get("/v1/executions/does-not-exist")
            #expect(missing == .notFound && errorCode(body) == "not_found")
        }
    }
}
