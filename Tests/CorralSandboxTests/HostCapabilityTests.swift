import CorralSandbox
import CorralTestSupport
import Foundation
import Testing

/// Under CI (CI=true) every sandbox test must run: these machines have root, namespaces, seccomp and cgroups.
@Test("jails are available on this host when running under CI")
func jailsAreAvailableUnderCI() async {
    guard ProcessInfo.processInfo.environment["CI"] == "true" else { return }
    #expect(TestSupport.jailsAvailable, "CI must run the sandbox tests: run as root on a host with user namespaces")
    #expect(!TestSupport.sandbox.cgroups.isUnavailable, "CI hosts have writable cgroups: \(TestSupport.sandbox.cgroups)")
    let result = await TestSupport.sandbox.run(JailSpec(arguments: ["/bin/true"]))
    #expect(result.status == .success, "\(result.errorMessage ?? "")")
}
