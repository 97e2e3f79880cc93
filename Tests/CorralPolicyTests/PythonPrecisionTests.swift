import CorralPolicy
import CorralTestSupport
import Foundation
import Testing

/// What the Python analyzer must not flag, and how exactly it reports what it does.
@Suite(.enabled(if: TestSupport.jailsAvailable))
struct PythonPrecisionTests {
    @Test func readingAWorkspaceFileIsNotAFinding() async {
        let report = await PolicyTestSupport.validate("with open('data.csv') as f:\n    print(f.read())\n")
        #expect(report.isSafe)
        #expect(report.findings.isEmpty, "\(report.dump)")
    }

    @Test func everydayNamesAreNotDangerous() async {
        let code = """
        import re, json
        pattern = re.compile(r'\\d+')
        class Frame:
            def eval(self, expr):
                return expr
            def compile(self):
                return 1
        f = Frame()
        f.eval('x')
        f.compile()
        def run(exec=None):
            return exec
        print(json.dumps({'n': len(pattern.findall('a1b22'))}))
        """
        let report = await PolicyTestSupport.validate(code)
        #expect(report.findings.isEmpty, "\(report.dump)")
    }

    @Test func shadowedBuiltinIsLocalButModuleLevelUseIsNot() async {
        let report = await PolicyTestSupport.validate("def f(eval):\n    return eval(1)\neval('1+1')\n")
        let evals = report.findings.filter { $0.rule == "python.dynamic.eval" }
        #expect(evals.map(\.line) == [3], "\(report.dump)")
    }

    @Test func findingsCarryLineAndColumn() async {
        let report = await PolicyTestSupport.validate("import os\n\nx = 1\nif x:\n    os.system('id')\n")
        let shell = report.findings.first { $0.rule == "python.process.shell" }
        #expect(shell?.line == 5)
        #expect(shell?.column == 5)
        #expect(shell?.severity == .critical)
        #expect(shell?.category == .process)
        #expect(shell?.message.contains("os.system") == true)
    }

    @Test func workspaceWritesAreBelowTheThreshold() async {
        let report = await PolicyTestSupport.validate("open('out.txt', 'w').write('x')\nopen('/tmp/y', 'a')\n")
        #expect(report.isSafe, "\(report.dump)")
        #expect(report.findings.allSatisfy { $0.rule == "python.filesystem.write_workspace" && $0.severity == .medium })
    }

    @Test func syntaxErrorIsAClearErrorNotACrash() async {
        let report = await PolicyTestSupport.validate("def broken(:\n    pass\n")
        #expect(report.error?.code == .syntaxError)
        #expect(report.error?.line == 1)
        #expect(report.analysis == .patterns)
        #expect(report.isSafe) // the interpreter refuses this code as well
        #expect(Policy.decide(report, mode: .strict).allowsRun)
    }

    @Test func patternsStillRunWhenTheCodeDoesNotParse() async {
        let report = await PolicyTestSupport.validate("import os\nos.system('id')\ndef broken(:\n")
        #expect(report.error?.code == .syntaxError)
        #expect(report.has("python.process.shell"), "\(report.dump)")
        #expect(!report.isSafe)
    }

    @Test func reportIsSeedShapedJSON() async throws {
        let report = await PolicyTestSupport.validate("import os\nos.system('id')\n", "py")
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? [String: Any]
        #expect(object?["is_safe"] as? Bool == false)
        #expect(object?["language"] as? String == "python")
        #expect((object?["issues"] as? [String])?.isEmpty == false)
        let finding = (object?["findings"] as? [[String: Any]])?.first
        #expect(Set(finding?.keys.map { $0 } ?? []) == ["rule", "severity", "category", "message", "line", "column"])
        #expect(object?.keys.contains("error") == true)
        #expect(object?["error"] is NSNull)
    }

    @Test func unknownLanguageIsAnErrorReport() async {
        let report = await PolicyTestSupport.validate("x", "cobol")
        #expect(report.error?.code == .unknownLanguage)
        #expect(report.analysis == ValidationReport.Method.none)
        #expect(!report.isSafe)
    }
}
