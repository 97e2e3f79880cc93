import CorralEngine
import CorralHTTP
import CorralTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite(.enabled(if: TestSupport.jailsAvailable))
struct InfoRouteTests {
    @Test("languages, limits, status, stats, health, readiness")
    func infoRoutes() async throws {
        try await TestService().live { client in
            _ = try await client.post("/v1/execute", json: ["code": "print(1)", "language": "python"])
            let (s1, _, languages, _) = try await client.get("/v1/languages")
            #expect(s1 == .ok)
            let python = (languages["languages"] as? [String: Any])?["python"] as? [String: Any]
            #expect(python?["available"] as? Bool == true)
            #expect((python?["version"] as? String ?? "").contains("3."))
            #expect(languages["max_timeout"] as? Double == 300)
            #expect(languages["default_memory_mb"] as? Int == 512)
            let (s2, _, limits, _) = try await client.get("/v1/limits")
            #expect(s2 == .ok)
            let profiles = limits["recommended_limits"] as? [String: Any] ?? [:]
            #expect(Set(profiles.keys).isSuperset(of: ["development", "testing", "production"]))
            let (s3, _, status, _) = try await client.get("/v1/status")
            #expect(s3 == .ok && status["state"] as? String == "running")
            #expect((status["coding_metrics"] as? [String: Any])?["total_executions"] as? Int == 1)
            #expect(status["agent_id"] as? String != nil && status["uptime_seconds"] as? Double != nil)
            let (s4, _, stats, _) = try await client.get("/v1/stats?include_history=true")
            #expect(s4 == .ok && stats["total_executions"] as? Int == 1)
            #expect((stats["recent_executions"] as? [Any])?.count == 1)
            let (s5, _, health, _) = try await client.get("/healthz")
            #expect(s5 == .ok && health["status"] as? String == "ok")
            let (s6, _, _, _) = try await client.get("/readyz")
            #expect(s6 == .ok)
            let (s7, _, missing, _) = try await client.get("/v1/nothing-here")
            #expect(s7 == .notFound)
            _ = missing
        }
    }

    @Test("/openapi.json describes exactly the routes the server answers")
    func openAPIMatchesRoutes() async throws {
        try await TestService().live { client in
            let (status, _, doc, _) = try await client.get("/openapi.json")
            #expect(status == .ok)
            #expect(doc["openapi"] as? String == "3.1.0")
            let paths = doc["paths"] as? [String: [String: Any]] ?? [:]
            var documented = Set<String>()
            for (path, operations) in paths { for method in operations.keys { documented.insert("\(method.uppercased()) \(path)") } }
            let routed = Set(APIRoute.all.map { "\($0.method.rawValue) \($0.path)" })
            #expect(documented == routed)
            // Every documented route is answered (not 404) by the live server.
            for route in APIRoute.all {
                let path = route.path.replacingOccurrences(of: "{id}", with: "no-such-id").replacingOccurrences(of: "{pid}", with: "1")
                    .replacingOccurrences(of: "{path}", with: "dir/a.txt")
                let code: HTTPResponse.Status = try await client.execute(uri: path, method: route.method,
                    headers: [.contentType: "application/json"], body: ByteBuffer(string: "{}")) { $0.status }
                if route.path == APIRoute.desktopSignedPage.path {
                    // A signed link is checked before its session is looked up: a made-up one is a 403,
                    // whether the session exists or not (a link never tells which sessions exist).
                    #expect(code == .forbidden, "\(route.path)")
                } else if route.path.contains("{id}") {
                    #expect(code == .notFound, "\(route.path)")
                } else {
                    #expect(code != .notFound && code != .methodNotAllowed, "\(route.method) \(route.path) answered \(code)")
                }
            }
        }
    }

    @Test("GET /metrics parses as Prometheus text")
    func metricsParse() async throws {
        try await TestService().live { client in
            _ = try await client.post("/v1/execute", json: ["code": "print(1)", "language": "python"])
            _ = try await client.post("/v1/execute", json: ["code": "exit 3", "language": "bash"])
            let (status, headers, _, text) = try await client.get("/metrics")
            #expect(status == .ok)
            #expect(headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            let families = try PrometheusTextParser.parse(text)
            #expect(families["corral_executions_total"]?.type == "counter")
            #expect(families["corral_executions_total"]?.samples.contains { $0.labels["language"] == "bash" && $0.labels["status"] == "error" && $0.value == 1 } == true)
            #expect(families["corral_execution_duration_seconds"]?.type == "histogram")
            for name in ["corral_queue_depth", "corral_running_jails", "corral_cache_hits_total", "corral_cache_misses_total",
                         "corral_history_write_failures_total"] {
                #expect(families[name] != nil, "\(name) missing")
            }
        }
    }
}
