import CorralEngine
import CorralHTTP
import CorralTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite(.enabled(if: TestSupport.jailsAvailable))
struct ExecuteRouteTests {
    @Test("POST /v1/execute runs code and returns the seed's result object")
    func execute() async throws {
        try await TestService().live { client in
            let (status, headers, body) = try await client.post("/v1/execute", json: [
                "code": "import os, sys\nprint(os.environ['GREETING'], sys.stdin.read(), sys.argv[1:])",
                "language": "python", "environment_vars": ["GREETING": "hi"], "stdin_data": "in", "args": ["a b", "$(x)"],
                "timeout_seconds": 10, "max_memory_mb": 256,
            ], headers: [.init("X-Request-ID")!: "req-123"])
            #expect(status == .ok)
            #expect(headers[.init("X-Request-ID")!] == "req-123")
            #expect(body["status"] as? String == "success")
            #expect(body["stdout"] as? String == "hi in ['a b', '$(x)']\n")
            for key in ["stderr", "exit_code", "execution_time_ms", "memory_used_mb", "output_truncated", "cached", "execution_id", "cpu_time_ms"] {
                #expect(body[key] != nil, "missing \(key)")
            }
            #expect(body["cached"] as? Bool == false)
        }
    }

    @Test("a result-cache hit of a compiled program says its compile was not run again (compile.cached)")
    func cacheHitOfACompiledProgram() async throws {
        try await TestService().live { client in
            // A program of its own (the compile cache is shared by every test of the process).
            let request: [String: Any] = ["code": "#include <stdio.h>\n// \(UUID().uuidString)\nint main(void) { puts(\"c\"); return 0; }\n", "language": "c"]
            let (_, _, first) = try await client.post("/v1/execute", json: request)
            let (_, _, second) = try await client.post("/v1/execute", json: request)
            #expect(first["cached"] as? Bool == false && (first["compile"] as? [String: Any])?["cached"] as? Bool == false, "\(first)")
            #expect(second["cached"] as? Bool == true && (second["compile"] as? [String: Any])?["cached"] as? Bool == true, "\(second)")
        }
    }

    @Test("a repeated request is a cache hit; use_cache false opts out")
    func cacheHit() async throws {
        try await TestService().live { client in
            let request: [String: Any] = ["code": "import random\nprint(random.random())", "language": "python"]
            let (_, _, first) = try await client.post("/v1/execute", json: request)
            let (_, _, second) = try await client.post("/v1/execute", json: request)
            #expect(first["cached"] as? Bool == false)
            #expect(second["cached"] as? Bool == true)
            #expect(first["stdout"] as? String == second["stdout"] as? String)
            var optOut = request
            optOut["use_cache"] = false
            let (_, _, third) = try await client.post("/v1/execute", json: optOut)
            #expect(third["cached"] as? Bool == false)
            #expect(third["stdout"] as? String != first["stdout"] as? String)
            let (_, _, metrics, text) = try await client.get("/metrics")
            _ = metrics
            #expect(text.contains("corral_cache_hits_total 1"))
        }
    }

    @Test("bad input gets a 4xx JSON error that says what to fix")
    func errors() async throws {
        try await TestService(maxCodeBytes: 1 << 20).live { client in
            var (status, _, body) = try await client.post("/v1/execute", raw: "{not json")
            #expect(status == .badRequest && errorCode(body) == "invalid_request")
            (status, _, body) = try await client.post("/v1/execute", json: ["code": "print(1)", "language": "cobol"])
            #expect(status == .badRequest && errorCode(body) == "unknown_language")
            (status, _, body) = try await client.post("/v1/execute", json: ["code": "print(1)", "language": "python", "timeout_seconds": 301])
            #expect(status == .badRequest && errorCode(body) == "invalid_limit")
            #expect(errorMessage(body).contains("timeout_seconds"))
            (status, _, body) = try await client.post("/v1/execute", json: ["code": "print(1)", "language": "python", "max_memory_mb": -5])
            #expect(status == .badRequest && errorCode(body) == "invalid_limit")
            (status, _, body) = try await client.post("/v1/execute", json: ["code": "print(1)", "language": "python", "timeout": 5])
            #expect(status == .badRequest)
            #expect(errorMessage(body).contains("timeout_seconds"))
            (status, _, body) = try await client.post("/v1/execute", json: ["language": "python"])
            let missingCode = errorMessage(body)
            #expect(status == .badRequest && missingCode.contains("code"))
            (status, _, body) = try await client.post("/v1/execute", json: ["code": 5, "language": "python"])
            #expect(status == .badRequest)
            let big = String(repeating: "#", count: (1 << 20) + 10)
            (status, _, body) = try await client.post("/v1/execute", json: ["code": big, "language": "python"])
            #expect(status == .contentTooLarge && errorCode(body) == "payload_too_large")
            let huge = String(repeating: "x", count: 10 << 20)
            (status, _, body) = try await client.post("/v1/execute", json: ["code": huge, "language": "python"])
            #expect(status == .contentTooLarge)
            (status, _, body) = try await client.post("/v1/execute", json: ["code": "print(1)", "language": "python", "priority": "URGENT"])
            #expect(status == .badRequest)
            // The service keeps serving.
            (status, _, body) = try await client.post("/v1/execute", json: ["code": "print(1)", "language": "python"])
            #expect(status == .ok && body["stdout"] as? String == "1\n")
        }
    }

    @Test("POST /v1/execute/batch returns results in order, errors in place")
    func batch() async throws {
        try await TestService().live { client in
            let (status, _, body) = try await client.post("/v1/execute/batch", json: ["requests": [
                ["code": "print('a')", "language": "python"],
                ["code": "echo b", "language": "bash"],
                ["code": "x", "language": "nope"],
                ["code": "console.log('d')", "language": "javascript"],
            ]])
            #expect(status == .ok)
            let results = body["results"] as? [[String: Any]] ?? []
            #expect(results.count == 4)
            #expect(results.first?["stdout"] as? String == "a\n")
            #expect(results.dropFirst().first?["stdout"] as? String == "b\n")
            #expect(errorCode(results.count > 2 ? results[2] : [:]) == "unknown_language")
            #expect(results.last?["stdout"] as? String == "d\n")
        }
    }

    @Test("API keys: required when configured, compared exactly")
    func apiKeys() async throws {
        let key = "k-0123456789abcdef0123"
        try await TestService(apiKeys: ["alice": key]).live { client in
            var (status, _, body) = try await client.post("/v1/execute", json: ["code": "print(1)", "language": "python"])
            #expect(status == .unauthorized && errorCode(body) == "unauthorized")
            (status, _, body) = try await client.post("/v1/execute", json: ["code": "print(1)", "language": "python"],
                                                      headers: [.authorization: "Bearer " + key + "x"])
            #expect(status == .unauthorized)
            (status, _, body) = try await client.post("/v1/execute", json: ["code": "print(1)", "language": "python"],
                                                      headers: [.authorization: "Bearer " + key])
            #expect(status == .ok)
            (status, _, body) = try await client.post("/v1/execute", json: ["code": "print(2)", "language": "python"],
                                                      headers: [.init("X-API-Key")!: key])
            #expect(status == .ok)
            let (health, _, _, _) = try await client.get("/healthz")
            #expect(health == .ok)
            let (history, _, page, _) = try await client.get("/v1/executions", headers: [.authorization: "Bearer " + key])
            #expect(history == .ok)
            let callers = (page["executions"] as? [[String: Any]] ?? []).compactMap { $0["caller"] as? String }
            #expect(callers == ["alice", "alice"])
        }
    }

    /// Each key is a tenant: another key's executions (their output, code hash and key name) are
    /// not in its history, by id or in the stats; and a cached result is replayed only to the key
    /// whose run made it (a hit replayed another tenant's random token, and `cached` told whether
    /// that tenant ran the same program with the same inputs).
    @Test("another API key's history and cached results are not a key's own: listed, by id, in stats, replayed")
    func tenantsAreApart() async throws {
        let keyA: HTTPFields = [.init("X-API-Key")!: "KEYA-0123456789abcdef"], keyB: HTTPFields = [.init("X-API-Key")!: "KEYB-0123456789abcdef"]
        try await TestService(apiKeys: ["a": "KEYA-0123456789abcdef", "b": "KEYB-0123456789abcdef"]).live { client in
            let token = ["code": "import secrets; print(secrets.token_hex(16))", "language": "python", "use_cache": true] as [String: Any]
            let (s1, _, first) = try await client.post("/v1/execute", json: token, headers: keyA)
            let (s2, _, again) = try await client.post("/v1/execute", json: token, headers: keyA)
            #expect(s1 == .ok && s2 == .ok && first["cached"] as? Bool == false && again["cached"] as? Bool == true)
            #expect(again["stdout"] as? String == first["stdout"] as? String, "A's own cache hit")
            let (s3, _, other) = try await client.post("/v1/execute", json: token, headers: keyB)
            #expect(s3 == .ok && other["cached"] as? Bool == false, "B got A's cached result: \(other)")
            #expect(other["stdout"] as? String != first["stdout"] as? String)

            let id = first["execution_id"] as? String ?? ""
            let (listed, _, page, _) = try await client.get("/v1/executions", headers: keyB)
            let ids = (page["executions"] as? [[String: Any]] ?? []).compactMap { $0["execution_id"] as? String }
            #expect(listed == .ok && !ids.contains(id) && ids.count == 1, "B lists A's executions: \(page)")
            let (byID, _, foreign, _) = try await client.get("/v1/executions/\(id)", headers: keyB)
            let (missing, _, none, _) = try await client.get("/v1/executions/\(UUID().uuidString)", headers: keyB)
            #expect(byID == .notFound && missing == .notFound, "\(byID) \(foreign)")
            #expect(errorCode(foreign) == errorCode(none))
            let (_, _, stats, _) = try await client.get("/v1/stats?include_history=true", headers: keyB)
            let recent = (stats["recent_executions"] as? [[String: Any]] ?? []).compactMap { $0["caller"] as? String }
            #expect(recent == ["b"], "B's recent executions: \(recent)")
            let (own, _, mine, _) = try await client.get("/v1/executions/\(id)", headers: keyA)
            #expect(own == .ok && mine["caller"] as? String == "a")
        }
    }
}
