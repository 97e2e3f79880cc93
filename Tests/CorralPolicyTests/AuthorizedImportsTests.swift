import CorralPolicy
import CorralTestSupport
import Testing

/// Seed 004: with an allow-list, any other import is a `high` finding.
@Suite(.enabled(if: TestSupport.jailsAvailable))
struct AuthorizedImportsTests {
    private func options(_ allowed: [String]) -> ValidationOptions {
        ValidationOptions(authorizedImports: allowed)
    }

    @Test func importsOnTheListPass() async {
        let code = "import json, re\nfrom collections import Counter\nimport os.path\nfrom __future__ import annotations\n"
        let report = await PolicyTestSupport.validate(code, options: options(["json", "re", "collections", "os"]))
        #expect(!report.has("python.policy.unauthorized_import"), "\(report.dump)")
        #expect(report.isSafe, "\(report.dump)")
    }

    @Test func anyOtherImportIsHigh() async {
        let code = "import json\nimport numpy as np\nfrom urllib.parse import quote\n"
        let report = await PolicyTestSupport.validate(code, options: options(["json", "re", "collections"]))
        let unauthorized = report.findings.filter { $0.rule == "python.policy.unauthorized_import" }
        #expect(unauthorized.map(\.line).sorted() == [2, 3], "\(report.dump)")
        #expect(unauthorized.allSatisfy { $0.severity == .high && $0.category == .policy })
        #expect(unauthorized.first { $0.line == 2 }?.message.contains("numpy") == true)
        #expect(!report.isSafe)
    }

    @Test func dynamicImportsAreCheckedToo() async {
        let code = "import importlib\nm = importlib.import_module('pandas')\nn = __import__('sqlite3')\n"
        let report = await PolicyTestSupport.validate(code, options: options(["importlib"]))
        let lines = report.findings.filter { $0.rule == "python.policy.unauthorized_import" }.map(\.line).sorted()
        #expect(lines == [2, 3], "\(report.dump)")
    }

    @Test func importsInsideExecStringsAreChecked() async {
        let report = await PolicyTestSupport.validate("exec('import socket')\n", options: options(["json"]))
        #expect(report.has("python.policy.unauthorized_import"), "\(report.dump)")
    }

    @Test func anEmptyListAuthorizesNothing() async {
        let report = await PolicyTestSupport.validate("import math\nprint(math.pi)\n", options: options([]))
        #expect(report.has("python.policy.unauthorized_import"))
    }

    @Test func withoutAListEveryImportIsAllowed() async {
        let report = await PolicyTestSupport.validate("import math, numpy\n")
        #expect(!report.has("python.policy.unauthorized_import"))
        #expect(report.imports == ["math", "numpy"])
    }

    @Test func javaScriptRequiresAreChecked() async {
        let code = "const fs = require('fs');\nconst _ = require('lodash');\nconst p = require('fs/promises');\n"
        let report = await PolicyTestSupport.validate(code, "javascript", options: options(["fs"]))
        let lines = report.findings.filter { $0.rule == "javascript.policy.unauthorized_import" }.map(\.line)
        #expect(lines == [2], "\(report.dump)")
    }
}
