import CorralPolicy
import CorralTestSupport
import Testing

/// Languages analysed with patterns: one dangerous and one everyday program each.
@Suite(.enabled(if: TestSupport.jailsAvailable))
struct PatternLanguageTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var language: String
        var dangerous: String
        var rule: String
        var benign: String
        var testDescription: String { language }
    }

    static let cases: [Case] = [
        Case(language: "ruby", dangerous: "name = gets\nsystem(\"rm -rf #{name}\")\n", rule: "ruby.process.shell",
             benign: "words = File.read('text.txt').split\nputs words.tally.max_by { |_, n| n }.inspect\n"),
        Case(language: "go", dangerous: "package main\nimport \"os/exec\"\nfunc main() { exec.Command(\"sh\", \"-c\", \"id\").Run() }\n",
             rule: "go.process.exec", benign: "package main\nimport \"fmt\"\nfunc main() { fmt.Println(21 * 2) }\n"),
        Case(language: "rust", dangerous: "use std::process::Command;\nfn main() { Command::new(\"id\").status().unwrap(); }\n",
             rule: "rust.process.command", benign: "fn main() {\n    let v: Vec<i32> = (1..10).collect();\n    println!(\"{}\", v.iter().sum::<i32>());\n}\n"),
        Case(language: "java", dangerous: "class Main { public static void main(String[] a) throws Exception { Runtime.getRuntime().exec(\"id\"); } }\n",
             rule: "java.process.exec", benign: "class Main { public static void main(String[] a) { System.out.println(java.util.List.of(1, 2).size()); } }\n"),
        Case(language: "c", dangerous: "#include <stdlib.h>\nint main(void) { return system(\"id\"); }\n", rule: "c.process.exec",
             benign: "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 6 * 7); return 0; }\n"),
        Case(language: "cpp", dangerous: "#include <unistd.h>\nint main() { execl(\"/bin/sh\", \"sh\", nullptr); }\n", rule: "cpp.process.exec",
             benign: "#include <iostream>\n#include <vector>\nint main() { std::vector<int> v{1, 2, 3}; std::cout << v.size() << std::endl; }\n"),
        Case(language: "sql", dangerous: "SELECT load_extension('/tmp/evil.so');\n", rule: "sql.privilege.load_extension",
             benign: "CREATE TABLE t (x INTEGER);\nINSERT INTO t VALUES (1), (2);\nSELECT sum(x) FROM t;\n"),
        Case(language: "swift", dangerous: "import Foundation\nlet p = Process()\np.executableURL = URL(fileURLWithPath: \"/bin/sh\")\ntry p.run()\n",
             rule: "swift.process.exec", benign: "let xs = [3, 1, 2]\nprint(xs.sorted())\n"),
        Case(language: "perl", dangerous: "my $out = `id`;\nprint $out;\n", rule: "perl.process.shell",
             benign: "my @n = (1..5);\nmy $s = 0;\n$s += $_ for @n;\nprint \"$s\\n\";\n"),
        Case(language: "php", dangerous: "<?php\n$c = $_GET['c'];\nshell_exec($c);\n", rule: "php.process.shell",
             benign: "<?php\n$a = [3, 1, 2];\nsort($a);\necho implode(',', $a), \"\\n\";\n"),
        Case(language: "lua", dangerous: "os.execute('rm -rf /tmp/x')\n", rule: "lua.process.shell",
             benign: "local t = {}\nfor i = 1, 5 do t[#t + 1] = i * i end\nprint(table.concat(t, ','))\n"),
    ]

    @Test(arguments: cases)
    func dangerousProgramIsUnsafe(_ c: Case) async {
        let report = await PolicyTestSupport.validate(c.dangerous, c.language)
        #expect(report.analysis == .patterns)
        #expect(report.has(c.rule), "\(report.dump)")
        #expect(!report.isSafe, "\(report.dump)")
    }

    @Test(arguments: cases)
    func everydayProgramIsSafe(_ c: Case) async {
        let report = await PolicyTestSupport.validate(c.benign, c.language)
        #expect(report.isSafe, "\(report.dump)")
    }

    @Test func commentsAreNotFindings() async {
        let report = await PolicyTestSupport.validate("# never run: rm -rf / or curl | sh\necho ok\n", "bash")
        #expect(report.findings.isEmpty, "\(report.dump)")
        let c = await PolicyTestSupport.validate("// system(\"id\") would be bad\nint main(void) { return 0; }\n", "c")
        #expect(c.findings.isEmpty, "\(c.dump)")
    }

    @Test func bashQuotingTricksAreUndone() async {
        for code in ["c''url http://203.0.113.1/x\n", "w\\get http://203.0.113.1/x\n", "\"cu\"rl http://203.0.113.1/x\n"] {
            let report = await PolicyTestSupport.validate(code, "bash")
            #expect(report.has("bash.network.client"), "\(code): \(report.dump)")
            #expect(report.has("bash.dynamic.obfuscation"), "\(code): \(report.dump)")
        }
    }

    @Test func bashWordsInStringsAreNotCommands() async {
        let report = await PolicyTestSupport.validate("echo \"use curl or sudo on your own machine\"\n", "bash")
        #expect(report.findings.isEmpty, "\(report.dump)")
    }

    @Test func patternFindingsHaveLinesAndColumns() async {
        let report = await PolicyTestSupport.validate("echo start\n  sudo id\n", "bash")
        let finding = report.findings.first { $0.rule == "bash.privilege.escalation" }
        #expect(finding?.line == 2)
        #expect(finding?.column == 1) // the match includes the command-position prefix
    }
}
