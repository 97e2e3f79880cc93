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

    @Test func modernSyntaxIsTranspiledThenAnalysed() async {
        let report = await PolicyTestSupport.validate("const o = { ...a };\nconst k = 'ev' + 'al';\nconsole.log(o?.b ?? globalThis[k]('1'));\n",
                                                      "javascript")
        #expect(report.analysis == .syntaxTree, "\(report.dump)")
        #expect(report.findings.contains { $0.rule == "javascript.dynamic.obfuscated_access" && $0.line == 3 }, "\(report.dump)")
    }

    @Test func invalidJavaScriptIsASyntaxError() async {
        let report = await PolicyTestSupport.validate("const = 1;\n", "javascript")
        #expect(report.error?.code == .syntaxError, "\(report.dump)")
        #expect(report.error?.line == 1)
    }

    @Test func typeScriptIsAnalysedOnItsSyntaxTree() async {
        let code = "import { execSync } from 'child_process';\ninterface R { out: string }\nconst r: R = { out: execSync('id').toString() };\n"
        let report = await PolicyTestSupport.validate(code, "ts")
        #expect(report.analysis == .syntaxTree, "\(report.dump)")
        #expect(report.language == "typescript")
        #expect(report.findings.contains { $0.rule == "javascript.process.child_process" && $0.line == 3 }, "\(report.dump)")
        let benign = await PolicyTestSupport.validate("const add = (a: number, b: number): number => a + b;\nconsole.log(add(2, 3));\n",
                                                      "typescript")
        #expect(benign.isSafe && benign.findings.isEmpty, "\(benign.dump)")
    }

    @Test func typeScriptImportsAreAuthorized() async {
        let report = await PolicyTestSupport.validate("import _ from 'lodash';\nconsole.log(_);\n", "typescript",
                                                      options: ValidationOptions(authorizedImports: ["fs"]))
        #expect(report.has("javascript.policy.unauthorized_import"), "\(report.dump)")
    }

    @Test func esModulesParse() async {
        let report = await PolicyTestSupport.validate("import { exec } from 'child_process';\nexec('id');\n", "javascript")
        #expect(report.analysis == .syntaxTree, "\(report.dump)")
        #expect(report.findings.contains { $0.rule == "javascript.process.child_process" && $0.line == 2 })
    }
}
