import CorralTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Numbers of every magnitude and sign in every numeric field: each is a 4xx JSON error that
/// names the field (or a result, where the value is valid), and the service keeps serving.
/// `timeout_seconds: 1e19` used to end the process: `String(Int(1e19))` trapped in the error message.
@Suite(.enabled(if: TestSupport.jailsAvailable))
struct NumericInputTests {
    /// JSON literals as a client may send them, exactly (not re-encoded through a `Double`).
    static let literals = [
        "0", "-0", "-1", "0.5", "1e-300", "-1e19", "1e19", "1.7e308", "-1.7e308",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
        "18446744073709551616", "123456789012345678901234567890", "-123456789012345678901234567890",
    ]
    static let fields = ["timeout_seconds", "max_memory_mb", "max_output_size", "cpu_percent"]

    @Test("every numeric field of /v1/execute: a 4xx JSON error or a result, never a crash")
    func executeFields() async throws {
        try await TestService().live { client in
            for field in Self.fields {
                for literal in Self.literals {
                    let body = #"{"code":"print(1)","language":"python","use_cache":false,"\#(field)":\#(literal)}"#
                    let (status, _, json) = try await client.post("/v1/execute", raw: body)
                    Self.expectErrorOrResult(status, json, field: field, literal: literal)
                }
            }
            try await Self.expectStillServing(client)
        }
    }

    @Test("every numeric field of a batch item: a 4xx JSON error or a result in place, never a crash")
    func batchItemFields() async throws {
        try await TestService().live { client in
            for field in Self.fields {
                for literal in Self.literals {
                    let item = #"{"code":"print(1)","language":"python","use_cache":false,"\#(field)":\#(literal)}"#
                    let (status, _, json) = try await client.post("/v1/execute/batch", raw: #"{"requests":[\#(item)]}"#)
                    if status == .ok {
                        // Accepted as JSON: the item's own outcome is in place, a result or an error.
                        let results = json["results"] as? [[String: Any]] ?? []
                        #expect(results.count == 1, "\(field)=\(literal): \(json)")
                        Self.expectErrorOrResult(.ok, results.first ?? [:], field: field, literal: literal, inBatch: true)
                    } else {
                        Self.expectErrorOrResult(status, json, field: field, literal: literal)
                    }
                }
            }
            try await Self.expectStillServing(client)
        }
    }

    @Test("an out-of-range limit is named with its value, as the client sent it")
    func messagesNameTheValue() async throws {
        try await TestService().live { client in
            var (status, _, json) = try await client.post("/v1/execute", raw: #"{"code":"print(1)","language":"python","timeout_seconds":1e19}"#)
            #expect(status == .badRequest && errorCode(json) == "invalid_limit")
            #expect(errorMessage(json).contains("timeout_seconds = 1e+19 is out of range"), "\(errorMessage(json))")
            (status, _, json) = try await client.post("/v1/execute", raw: #"{"code":"print(1)","language":"python","timeout_seconds":-1.7e308}"#)
            #expect(status == .badRequest && errorMessage(json).contains("timeout_seconds = -1.7e+308"), "\(errorMessage(json))")
            (status, _, json) = try await client.post("/v1/execute", raw: #"{"code":"print(1)","language":"python","max_memory_mb":9223372036854775807}"#)
            #expect(status == .badRequest && errorCode(json) == "invalid_limit", "\(json)")
            #expect(errorMessage(json).contains("max_memory_mb"))
            (status, _, json) = try await client.post("/v1/execute", raw: #"{"code":"print(1)","language":"python","max_memory_mb":1e19}"#)
            #expect(status == .badRequest && errorMessage(json).contains("max_memory_mb"), "\(json)")
            try await Self.expectStillServing(client)
        }
    }

    @Test("history paging: out-of-range numbers are a 400, not a trap")
    func historyQueryNumbers() async throws {
        try await TestService().live { client in
            for query in ["limit=1e19", "limit=-9223372036854775808", "offset=-1", "offset=99999999999999999999",
                          "limit=9223372036854775807&offset=9223372036854775807", "since=1e300", "until=-1e300"] {
                let (status, _, json, text) = try await client.get("/v1/executions?\(query)")
                #expect(status == .ok || (400..<500).contains(status.code), "\(query): \(status) \(text)")
                if status != .ok { #expect(errorCode(json) != nil, "\(query): \(text)") }
            }
            try await Self.expectStillServing(client)
        }
    }

    /// A 4xx with `{ "error": { "code", "message" } }`, or (status 200) a result object with a status.
    static func expectErrorOrResult(_ status: HTTPResponse.Status, _ json: [String: Any], field: String, literal: String,
                                    inBatch: Bool = false) {
        let context = "\(field)=\(literal)\(inBatch ? " in a batch item" : ""): \(status) \(json)"
        if let error = json["error"] as? [String: Any] {
            #expect(inBatch || (400..<500).contains(status.code), "\(context)")
            #expect(error["code"] as? String != nil, "\(context)")
            let message = error["message"] as? String ?? ""
            #expect(message.contains(field), "the message names the field: \(context)")
        } else {
            #expect(status == .ok, "\(context)")
            #expect(json["status"] as? String != nil, "a result object: \(context)")
        }
    }

    /// The process is alive and runs code.
    static func expectStillServing(_ client: LiveClient) async throws {
        let (health, _, _, _) = try await client.get("/healthz")
        #expect(health == .ok)
        let (status, _, json) = try await client.post("/v1/execute", json: ["code": "print(2)", "language": "python"])
        #expect(status == .ok && json["stdout"] as? String == "2\n")
    }
}
