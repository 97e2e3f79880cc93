import CorralRuntimes
import CorralSandbox
import CorralTestSupport
import Foundation
import Testing

/// Java programs with any entry class name run: Piston's own test shape (`public class HelloWorld`),
/// the usual judge shape (`Solution`), a non-public class, and multi-file programs that keep their names.
@Suite(.enabled(if: TestSupport.jailsAvailable))
struct JavaProgramTests {
    static func runtime() throws -> Runtime {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-java-\(UUID().uuidString)").path
        return Runtime(sandbox: TestSupport.sandbox, compileCache: CompileCache(root: dir))
    }

    @Test(arguments: [
        ("public class HelloWorld {\n    public static void main(String[] args) {\n        System.out.println(\"OK\");\n    }\n}\n", "OK\n"),
        ("import java.util.*;\npublic class Solution {\n  public static void main(String[] a) { System.out.println(new ArrayList<>(List.of(1, 2)).size()); }\n}\n", "2\n"),
        ("class Program { public static void main(String[] a) { System.out.println(\"plain\"); } }\n", "plain\n"),
        ("public class Main { public static void main(String[] a) { System.out.println(\"main\"); } }\n", "main\n"),
    ])
    func anyEntryClassRuns(code: String, expected: String) async throws {
        let result = await (try Self.runtime()).run(RunRequest(language: "java", code: code))
        #expect(result.status == .success, "\(result.status): \(result.errorMessage ?? "") \(result.stderr)")
        #expect(result.stdout == expected)
    }

    @Test func aMultiFileProgramKeepsItsNames() async throws {
        let helper = JailFile(path: "Greeter.java", contents: Array("public class Greeter { static String hi() { return \"hi from Greeter\"; } }\n".utf8))
        let code = "public class App { public static void main(String[] a) { System.out.println(Greeter.hi()); } }\n"
        let result = await (try Self.runtime()).run(RunRequest(language: "java", code: code, extraFiles: [helper]))
        #expect(result.status == .success, "\(result.status): \(result.stderr)")
        #expect(result.stdout == "hi from Greeter\n")
    }

    @Test func aProgramWithoutMainSaysSo() async throws {
        let result = await (try Self.runtime()).run(RunRequest(language: "java", code: "public class Library { }\n"))
        #expect(result.status == .error, "\(result)")
        #expect(result.stderr.contains("main method not found") || result.stderr.contains("Main method not found"), "\(result.stderr)")
    }
}
