import CorralTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Requests shaped to make the server work in proportion to a power of their size (found by a
/// review): each must be answered at once, its answer as small as what it asked.
@Suite(.enabled(if: TestSupport.jailsAvailable), .serialized)
struct RequestShapeAttackTests {
    @Test("a session exec with 20,000 environment variables runs (merging them was cubic: hours of CPU)")
    func manyEnvironmentVariables() async throws {
        try await TestService().live { client in
            let id = try await client.createSession()
            var env: [String: String] = [:]
            for i in 0..<20_000 { env["K\(i)"] = "\(i)" }
            env["PICKED"] = "yes"
            let (status, result) = try await client.exec(id, "echo $PICKED $K19999 $(env | grep -c '^K')", extra: ["env": env])
            #expect(status == .ok && result["stdout"] as? String == "yes 19999 20000\n", "\(status) \(result["stdout"] ?? result)")
        }
    }

    @Test("authorized_imports of 1 MB and 1000 unauthorized imports: a report of kilobytes, not the list 2000 times")
    func largeAllowList() async throws {
        try await TestService().live { client in
            let entry = String(repeating: "a", count: 1_000_000)
            let (status, _, report) = try await client.post("/v1/validate", json: [
                "language": "python", "code": String(repeating: "import z\n", count: 1000), "authorized_imports": [entry, "json"],
            ])
            #expect(status == .ok, "\(status)")
            let size = try JSONSerialization.data(withJSONObject: report).count
            #expect(size < 1_000_000, "the report is \(size) bytes")
            let findings = report["findings"] as? [[String: Any]] ?? []
            #expect(findings.count >= 1000 || report["truncated"] as? Bool == true, "\(findings.count) findings")
            let message = findings.first?["message"] as? String ?? ""
            #expect(message.contains(": z (authorized: ") && message.contains("…") && message.contains("json"), "\(message.prefix(300))")
            // Parents are still found: os.path is allowed by os, fs/promises by fs.
            let (_, _, allowed) = try await client.post("/v1/validate", json: [
                "language": "python", "code": "import os.path\nimport xml.dom.minidom\n", "authorized_imports": ["os", "xml.dom"],
            ])
            #expect(allowed["is_safe"] as? Bool == true, "\(allowed)")
        }
    }

    @Test("an unknown field named by 1 MB of text is a 400 at once, the name clipped in the message")
    func hugeUnknownField() async throws {
        try await TestService().live { client in
            let key = String(repeating: "q", count: 1_000_000)
            let (status, _, body) = try await client.post("/v1/execute", raw: "{\"\(key)\": 1, \"language\": \"python\", \"code\": \"pass\"}")
            #expect(status == .badRequest && errorCode(body) == "invalid_request", "\(status)")
            let message = errorMessage(body)
            #expect(message.hasPrefix("unknown field 'qqq") && message.utf8.count < 1000, "\(message.prefix(300)) (\(message.utf8.count) bytes)")
        }
    }
}
