import CorralSandbox
import CorralTestSupport
import Testing

/// Two sandboxes in one process (an engine with a sandbox of its own beside the shared one, as
/// tests and benches make them) run jails at once: their cgroups never share a name.
@Suite("Two sandboxes", .enabled(if: TestSupport.jailsAvailable))
struct TwoSandboxesTests {
    @Test("jails of two sandboxes of one process run side by side, each in a cgroup of its own")
    func twoSandboxesRunSideBySide() async throws {
        let other = try Sandbox()
        defer { other.shutdown() }
        let results = await withTaskGroup(of: RunResult.self) { group in
            for index in 0..<16 {
                let sandbox = index % 2 == 0 ? TestSupport.sandbox : other
                group.addTask { await sandbox.run(JailSpec(arguments: ["/bin/sh", "-c", "echo \(index)"])) }
            }
            return await group.reduce(into: [RunResult]()) { $0.append($1) }
        }
        #expect(results.allSatisfy { $0.status == .success }, "\(results.filter { $0.status != .success })")
        #expect(Set(results.map(\.stdout)) == Set((0..<16).map { "\($0)\n" }))
    }
}
