import CorralTestSupport
import Foundation
import Testing

/// deploy/k8s is checked against the Kubernetes schemas by kubernetes-validate (PyPI, in .venv/
/// from scripts/bootstrap), strictly (an unknown field fails), as deploy/README.md says to.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: FleetHarness.repositoryRoot + "/.venv/bin/kubernetes-validate")))
struct DeployManifestTests {
    static let validator = FleetHarness.repositoryRoot + "/.venv/bin/kubernetes-validate"
    static var manifests: [String] {
        let dir = FleetHarness.repositoryRoot + "/deploy/k8s"
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
            .filter { $0.hasSuffix(".yaml") && $0 != "kustomization.yaml" }.sorted().map { dir + "/" + $0 }
    }

    static func validate(_ files: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: validator)
        p.arguments = ["--strict"] + files
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, text)
    }

    @Test("every manifest of deploy/k8s passes kubernetes-validate --strict, the Deployment with its probes and node-wide identity locks")
    func manifestsAreValid() throws {
        let files = Self.manifests
        #expect(files.count >= 7, "\(files)")
        let (status, output) = try Self.validate(files)
        #expect(status == 0, "\(output)")
        #expect(output.contains("deployment/corral"), "\(output)")
        let deployment = try String(contentsOfFile: FleetHarness.repositoryRoot + "/deploy/k8s/deployment.yaml", encoding: .utf8)
        for needle in ["path: /readyz", "path: /healthz", "mountPath: /run/corral/identities", "POSTGRES_URL", "privileged: true"] {
            #expect(deployment.contains(needle), "deployment.yaml has \(needle)")
        }
    }

    @Test("the check has teeth: a misspelt field fails it")
    func aMisspeltFieldFails() throws {
        let original = try String(contentsOfFile: FleetHarness.repositoryRoot + "/deploy/k8s/deployment.yaml", encoding: .utf8)
        let broken = NSTemporaryDirectory() + "corral-broken-\(UUID().uuidString).yaml"
        try original.replacingOccurrences(of: "readinessProbe:", with: "readinesProbe:").write(toFile: broken, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: broken) }
        let (status, output) = try Self.validate([broken])
        #expect(status != 0, "\(output)")
    }
}
