import CorralRuntimes
import CorralSandbox
import CorralTestSupport
import Foundation
import Testing

/// SECURITY.md abuse case 19 and measure 11: arguments, environment values and file names
/// built to be interpreted by a shell are passed byte for byte, and names that would leave
/// the workspace are refused before any jail starts.
@Suite(.enabled(if: TestSupport.jailsAvailable))
struct AbuseInputTests {
    /// A canary on the host: any shell that interprets one of the strings below creates it.
    private static func hostile(_ canary: String) -> [String] {
        [
            "$(touch \(canary))", "`touch \(canary)`", "; touch \(canary)", "| touch \(canary)", "&& touch \(canary)",
            "line one\nline two", "tab\there", "'single quoted'", "\"double quoted\"", "back\\slash", "\\n not a newline",
            "$HOME", "${PATH}", "*", "~", "-c", "--", "", " leading and trailing ", "ünïcödé ✓", "%s%n", "\r\n",
        ]
    }

    @Test(arguments: ["python", "bash"])
    func argumentsAndEnvironmentArePassedLiterally(language: String) async throws {
        let canary = "/var/tmp/corral-pwned-" + UUID().uuidString
        let strings = Self.hostile(canary)
        let program = language == "python"
            ? "import json, os, sys\nprint(json.dumps({'args': sys.argv[1:], 'env': [os.environ[f'EVIL{i}'] for i in range(\(strings.count))]}))\n"
            : """
            args=(); env=()
            for a in "$@"; do args+=("$a"); done
            for ((i = 0; i < \(strings.count); i++)); do name="EVIL$i"; env+=("${!name}"); done
            python3 -c 'import json, sys; n = int(sys.argv[1]); print(json.dumps({"args": sys.argv[2:2 + n], "env": sys.argv[2 + n:]}))' \\
                "${#args[@]}" "${args[@]}" "${env[@]}"
            """
        let environment = strings.enumerated().map { (key: "EVIL\($0.offset)", value: $0.element) }
        let result = await TestSupport.run(language, program, environment: environment, arguments: strings)
        #expect(result.status == .success, "\(result)")
        struct Seen: Decodable { var args: [String]; var env: [String] }
        let seen = try JSONDecoder().decode(Seen.self, from: Data(result.stdout.utf8))
        #expect(seen.args == strings)
        #expect(seen.env == strings)
        #expect(!FileManager.default.fileExists(atPath: canary), "a host shell interpreted a request string")
        await Abuse.expectHealthy()
    }

    @Test func fileNamesAndContentsArePlacedLiterally() async throws {
        let canary = "/var/tmp/corral-pwned-" + UUID().uuidString
        let names = ["$(touch \(canary)).txt", "`touch \(canary)`", "new\nline", "quote'\"", "-rf", " space ", "dir/$(x)/f;g"]
        let files = names.map { JailFile(path: $0, contents: Array("contents of \($0)\n$(touch \(canary))".utf8)) }
        let request = RunRequest(language: "python", code: #"""
        import json, os
        found = {}
        for top, dirs, names in os.walk("/workspace"):
            for name in names:
                path = os.path.join(top, name)[len("/workspace/"):]
                if path != "main.py":
                    found[path] = open(os.path.join(top, name)).read()
        print(json.dumps(found))
        """#, extraFiles: files)
        let result = await TestSupport.run(request)
        #expect(result.status == .success, "\(result)")
        let found = try JSONDecoder().decode([String: String].self, from: Data(result.stdout.utf8))
        #expect(found == Dictionary(uniqueKeysWithValues: files.map { ($0.path, String(decoding: $0.contents, as: UTF8.self)) }))
        #expect(!FileManager.default.fileExists(atPath: canary))
        await Abuse.expectHealthy()
    }

    @Test(arguments: [
        ("../escape", "must be relative to the workspace"),
        ("/etc/passwd", "must be relative to the workspace"),
        ("a/../../escape", "must be relative to the workspace"),
        ("./hidden", "must be relative to the workspace"),
        ("a//b", "must be relative to the workspace"),
        ("nul\0byte", "contains a NUL byte"),
    ])
    func fileNamesLeavingTheWorkspaceAreRefused(name: String, message: String) async {
        let request = RunRequest(language: "python", code: "print('ran')",
                                 extraFiles: [JailFile(path: name, contents: Array("x".utf8))])
        let result = await TestSupport.run(request)
        #expect(result.status == .internalError)
        #expect(result.stdout == "")
        #expect(result.errorMessage?.contains(message) == true, "\(result.errorMessage ?? "no message")")
        await Abuse.expectHealthy()
    }

    @Test func nulBytesAndBadVariableNamesAreRefused() async {
        let argument = await TestSupport.run("python", "print('ran')", arguments: ["a\0b"])
        #expect(argument.status == .internalError)
        #expect(argument.errorMessage == "an argument contains a NUL byte, which cannot be passed to a program")
        let value = await TestSupport.run("python", "print('ran')", environment: [("KEY", "a\0b")])
        #expect(value.status == .internalError)
        #expect(value.errorMessage?.contains("contains a NUL byte") == true)
        let name = await TestSupport.run("python", "print('ran')", environment: [("A=B", "c")])
        #expect(name.status == .internalError)
        #expect(name.errorMessage == "environment variable name 'A=B' is empty or contains '='")
        await Abuse.expectHealthy()
    }
}
