import CorralPolicy
import CorralTestSupport
import Testing

/// JavaScript on esprima's syntax tree, with patterns for syntax esprima 4 does not know.
@Suite(.enabled(if: TestSupport.jailsAvailable))
struct JavaScriptTests {
    @Test func requireAliasesAreResolved() async {
        let report = await PolicyTestSupport.validate("const cp = require('child_process');\nconst run = cp.execSync;\nrun('id');\n",
                                                      "javascript")
        #expect(report.analysis == .syntaxTree, "\(report.dump)")
        #expect(report.findings.contains { $0.rule == "javascript.process.child_process" && $0.line == 3 }, "\(report.dump)")
    }

    @Test func computedGlobalsAreFolded() async {
        let report = await PolicyTestSupport.validate("const k = ['e', 'v', 'a', 'l'].join('');\nglobalThis[k]('1');\n", "js")
        #expect(report.has("javascript.dynamic.obfuscated_access"), "\(report.dump)")
        #expect(report.language == "javascript")
    }

    @Test func constructorChainIsFunction() async {
        let report = await PolicyTestSupport.validate("(() => {}).constructor('return this')();\n", "javascript")
        #expect(report.has("javascript.dynamic.eval"), "\(report.dump)")
    }

    @Test func workspaceReadsAreFine() async {
        let report = await PolicyTestSupport.validate("const fs = require('fs');\nconsole.log(fs.readFileSync('data.json', 'utf8'));\n",
                                                      "javascript")
        #expect(report.isSafe, "\(report.dump)")
        #expect(report.findings.allSatisfy { $0.severity == .low })
    }

    @Test func modernSyntaxFallsBackToPatterns() async {
        let report = await PolicyTestSupport.validate("const o = { ...a };\nconsole.log(o?.b ?? eval('1'));\n", "javascript")
        #expect(report.error?.code == .unsupportedSyntax)
        #expect(report.analysis == .patterns)
        #expect(report.has("javascript.dynamic.eval"), "\(report.dump)")
    }

    @Test func esModulesParse() async {
        let report = await PolicyTestSupport.validate("import { exec } from 'child_process';\nexec('id');\n", "javascript")
        #expect(report.analysis == .syntaxTree, "\(report.dump)")
        #expect(report.findings.contains { $0.rule == "javascript.process.child_process" && $0.line == 2 })
    }
}
