import CorralRuntimes
import CorralSandbox
import CorralTestSupport
import Foundation
import Testing

/// Paths are checked as the kernel reads them, byte by byte: Unicode joins a '/' to a neighbouring
/// scalar in one Swift `Character` (a prepended U+0600 before it, a skin-tone modifier after it),
/// and a check that splits by character sees one part where the kernel sees two.
struct PathTextTests {
    @Test("a '/' joined to its neighbour is still a separator: '..' behind it is refused, a name behind it is kept")
    func joinedSlashes() throws {
        for attack in ["a\u{600}/..", "a\u{600}/../b", "/workspace/a\u{600}/..", "x/\u{1F3FB}/../..", "a\u{600}/../\u{600}/../.."] {
            #expect(throws: WorkspaceFiles.Failure.self, "\(attack.unicodeScalars.map { String($0.value, radix: 16) })") {
                _ = try WorkspaceFiles.normalise(attack)
            }
        }
        // Found by schemathesis: a path under /workspace/ whose first name starts with a skin-tone modifier.
        #expect(try WorkspaceFiles.normalise("/workspace/\u{1F3FB}/x") == "\u{1F3FB}/x")
        #expect(try WorkspaceFiles.normalise("/workspace/a\u{600}/b/./c") == "a\u{600}/b/c")
        #expect(throws: WorkspaceFiles.Failure.self) { _ = try WorkspaceFiles.normalise("/\u{1F3FB}workspace/x") }
        #expect("a\u{600}/b".pathParts() == ["a\u{600}", "b"])
        #expect("/x//y/".pathParts(omittingEmpty: false) == ["", "x", "", "y", ""])
    }

    @Test("a one-shot run's file named 'x\\u{600}/..' is refused before the jail starts", .enabled(if: TestSupport.jailsAvailable))
    func runFilesWithJoinedSlashes() async {
        let request = RunRequest(language: "bash", code: "ls", extraFiles: [JailFile(path: "x\u{600}/..", contents: Array("boom".utf8))])
        let result = await TestSupport.runtime.run(request)
        #expect(result.status == .internalError || result.errorMessage?.contains("must be relative to the workspace") == true, "\(result.status) \(result.errorMessage ?? "")")
    }
}
