@testable import CorralRuntimes
import CorralSandbox
import CorralTestSupport
import Testing

/// `CompileCacheKey` covers every input that can change an artifact, and nothing that cannot.
@Suite(.enabled(if: TestSupport.jailsAvailable)) // a Runtime needs the sandbox (root)
struct CompileCacheKeyTests {
    static let runtime = Runtime(sandbox: TestSupport.sandbox)

    static func stage(_ request: RunRequest) throws -> CompileStage {
        let language = try #require(runtime.catalog.language(named: request.language))
        return try #require(runtime.compileStage(for: request, language: language))
    }

    static func key(_ stage: CompileStage, version: String = "1.0", namespace: String? = nil) -> String {
        CompileCacheKey.make(stage, toolchainVersion: version, namespace: namespace)
    }

    @Test("each input changes the key")
    func everyInputCounts() throws {
        let base = try Self.stage(RunRequest(language: "c", code: "int main(void) { return 0; }"))
        let key = Self.key(base)
        func with(_ change: (inout CompileStageFields) -> Void) -> String {
            var fields = CompileStageFields(base)
            change(&fields)
            return Self.key(fields.stage)
        }
        let cpp = try Self.stage(RunRequest(language: "cpp", code: "int main(void) { return 0; }"))
        let changed: [(String, String)] = [
            ("toolchain version", Self.key(base, version: "1.1")),
            ("namespace", Self.key(base, namespace: "tenant-a")),
            ("empty namespace", Self.key(base, namespace: "")),
            ("argv", with { $0.argv.append("-DX") }),
            ("added variable", with { $0.environment.append(("GOFLAGS", "-x")) }),
            ("changed variable", with { $0.environment[0].value += ":/tmp" }),
            ("read-only paths", with { $0.readOnlyPaths.append("/opt") }),
            ("file contents", with { $0.files[0].contents.append(0x20) }),
            ("file name", with { $0.files[0].path = "other.c" }),
            ("exec bit", with { $0.files[0].executable.toggle() }),
            ("added file", with { $0.files.append(JailFile(path: "extra.h", contents: [])) }),
            ("language", Self.key(cpp)),
        ]
        for (input, changedKey) in changed {
            #expect(changedKey != key, "changing the \(input) did not change the key")
        }
        #expect(Set(changed.map(\.1)).count == changed.count, "two different inputs gave one key")
    }

    @Test("limits, the run's environment and arguments are not inputs: they never reach the compiler's output")
    func notInputs() throws {
        var request = RunRequest(language: "go", code: "package main\nfunc main() {}")
        let key = Self.key(try Self.stage(request))
        request.limits.memoryMB = 32
        request.limits.timeoutSeconds = 2
        request.environment = [("GOFLAGS", "-ldflags=-X=main.x=y"), ("GOOS", "windows")]
        request.arguments = ["a"]
        request.stdin = [1, 2, 3]
        #expect(Self.key(try Self.stage(request)) == key)
    }

    @Test("list boundaries are part of the key: moving a word from one list to the next changes it")
    func listsDoNotRunTogether() throws {
        let base = try Self.stage(RunRequest(language: "c", code: "x"))
        // Without a count per list both would hash the words gcc, PATH, /bin in a row.
        var a = CompileStageFields(base)
        a.argv = ["gcc", "PATH", "/bin"]
        a.environment = []
        var b = CompileStageFields(base)
        b.argv = ["gcc"]
        b.environment = [("PATH", "/bin")]
        #expect(Self.key(a.stage) != Self.key(b.stage))
    }
}

/// A stage's key inputs, editable one at a time.
struct CompileStageFields {
    var base: CompileStage
    var argv: [String]
    var environment: [(key: String, value: String)]
    var files: [JailFile]
    var readOnlyPaths: [String]

    init(_ stage: CompileStage) {
        base = stage; argv = stage.argv; environment = stage.environment; files = stage.files; readOnlyPaths = stage.readOnlyPaths
    }

    var stage: CompileStage {
        CompileStage(sandbox: base.sandbox, language: base.language, argv: argv, environment: environment, files: files,
                     readOnlyPaths: readOnlyPaths, limits: base.limits)
    }
}
