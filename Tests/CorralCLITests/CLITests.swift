import CorralTestSupport
import Foundation
import Testing

/// Issue 2, acceptance 6: the built `corral` binary, end to end: its JSON
/// result shape, human mode, exit codes, and one-line errors for bad input.
@Suite("CLI", .enabled(if: TestSupport.jailsAvailable))
struct CLITests {
    /// The keys of `corral run --json` for an interpreted program, no more, no fewer.
    static let resultKeys: Set<String> = [
        "status", "stdout", "stderr", "exit_code", "signal", "execution_time_ms", "cpu_time_ms",
        "memory_used_mb", "output_truncated", "error_message", "limit_exceeded",
    ]

    // MARK: --json

    @Test func jsonOutputHasExactlyTheResultShape() async throws {
        let out = try await CorralCLI.run(["run", "--json", "--lang", "python", "-c", "print('hi')"])
        #expect(out.exitCode == 0)
        #expect(out.stderr.isEmpty, "--json prints the result object only: \(out.stderr)")
        let object = try out.jsonObject()
        #expect(Set(object.keys) == Self.resultKeys)
        #expect(object["status"] as? String == "success")
        #expect(object["stdout"] as? String == "hi\n")
        #expect(object["stderr"] as? String == "")
        #expect(object["exit_code"] as? Int == 0)
        #expect(object["signal"] is NSNull)
        #expect(object["error_message"] is NSNull)
        #expect(object["limit_exceeded"] is NSNull)
        #expect(object["output_truncated"] as? Bool == false)
        #expect((object["execution_time_ms"] as? Double ?? 0) > 0)
        #expect((object["cpu_time_ms"] as? Double ?? 0) > 0)
        #expect((object["memory_used_mb"] as? Double ?? 0) > 0)
    }

    @Test func jsonReportsALimitAndKeepsTheShape() async throws {
        let out = try await CorralCLI.run(["run", "--json", "--output-limit", "10", "--lang", "bash", "-c", "yes"])
        let object = try out.jsonObject()
        #expect(Set(object.keys) == Self.resultKeys)
        #expect(object["status"] as? String == "output_limit")
        #expect(object["limit_exceeded"] as? String == "output")
        #expect(object["output_truncated"] as? Bool == true)
        #expect((object["stdout"] as? String)?.utf8.count == 10)
        #expect(object["signal"] as? Int == 9)
        #expect(out.exitCode == 137)
    }

    @Test func jsonForASignalAndAnError() async throws {
        let killed = try await CorralCLI.run(["run", "--json", "--lang", "bash", "-c", "kill -SEGV $$"])
        let k = try killed.jsonObject()
        #expect(k["status"] as? String == "killed")
        #expect(k["signal"] as? Int == 11)
        #expect(k["exit_code"] as? Int == 139)
        #expect(killed.exitCode == 139)

        let failed = try await CorralCLI.run(["run", "--json", "--lang", "python", "-c", "raise SystemExit(3)"])
        let f = try failed.jsonObject()
        #expect(f["status"] as? String == "error")
        #expect(f["exit_code"] as? Int == 3)
        #expect(f["signal"] is NSNull)
        #expect(failed.exitCode == 3)
    }

    // MARK: Human mode

    @Test func humanModePassesOutputThroughAndPrintsOneSummaryLine() async throws {
        let out = try await CorralCLI.run(["run", "--lang", "python", "-c", "import sys\nprint('to stdout')\nprint('to stderr', file=sys.stderr)"])
        #expect(out.exitCode == 0)
        #expect(out.stdout == "to stdout\n")
        #expect(out.stderr.hasPrefix("to stderr\n"))
        let summary = out.stderr.dropFirst("to stderr\n".count)
        #expect(summary.hasSuffix("\n"))
        #expect(summary.dropLast().split(separator: "\n", omittingEmptySubsequences: false).count == 1, "one summary line: \(summary)")
        #expect(summary.hasPrefix("corral: success"))
        for part in ["wall", "cpu", "mem"] {
            #expect(summary.contains(part), "the summary gives \(part): \(summary)")
        }
    }

    @Test func humanModeSummaryNamesTheStatusOfAFailure() async throws {
        let out = try await CorralCLI.run(["run", "--timeout", "0.5", "--lang", "bash", "-c", "sleep 10"])
        #expect(out.exitCode == 124)
        #expect(out.stdout.isEmpty)
        #expect(out.stderrLines.count == 1)
        #expect(out.stderr.hasPrefix("corral: timeout"))
    }

    // MARK: Exit codes

    static let exitCases: [([String], Int32)] = [
        (["--lang", "bash", "-c", "exit 3"], 3),
        (["--lang", "python", "-c", "import sys; sys.exit(42)"], 42),
        (["--lang", "bash", "-c", "true"], 0),
        (["--lang", "bash", "-c", "kill -TERM $$"], 128 + 15),
        (["--lang", "bash", "-c", "kill -SEGV $$"], 128 + 11),
        (["--memory", "32", "--lang", "python", "-c", "b = bytearray(b'1') * (256 << 20)"], 128 + 9),
        (["--timeout", "0.5", "--lang", "python", "-c", "import time; time.sleep(10)"], 124),
    ]

    @Test(arguments: exitCases)
    func exitCodeFollowsTheProgram(arguments: [String], expected: Int32) async throws {
        let out = try await CorralCLI.run(["run"] + arguments)
        #expect(out.exitCode == expected, "stderr: \(out.stderr)")
    }

    @Test func exitCodeIs125WhenCorralItselfFails() async throws {
        // A catalog whose language points at a command that does not exist: the jail cannot exec it.
        let dir = try CorralCLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let catalog = dir.appendingPathComponent("languages.json")
        try Data("""
        {"languages": [{"name": "ghost", "aliases": [], "extensions": ["ghost"], "source_file": "main.ghost",
                        "run": ["/nonexistent/ghost", "{source}"], "version": ["/nonexistent/ghost", "--version"]}]}
        """.utf8).write(to: catalog)
        let human = try await CorralCLI.run(["run", "--lang", "ghost", "-c", "boo"], environment: ["CORRAL_LANGUAGES": catalog.path])
        #expect(human.exitCode == 125)
        #expect(human.stderr.hasPrefix("corral: internal_error"), "\(human.stderr)")
        let json = try await CorralCLI.run(["run", "--json", "--lang", "ghost", "-c", "boo"], environment: ["CORRAL_LANGUAGES": catalog.path])
        #expect(json.exitCode == 125)
        let object = try json.jsonObject()
        #expect(Set(object.keys) == Self.resultKeys)
        #expect(object["status"] as? String == "internal_error")
        #expect((object["error_message"] as? String)?.isEmpty == false)

        let noCatalog = try await CorralCLI.run(["run", "--lang", "python", "-c", "1"], environment: ["CORRAL_LANGUAGES": "/nonexistent/languages.json"])
        #expect(noCatalog.exitCode == 125)
        #expect(noCatalog.stderrLines.count == 1)
    }

    // MARK: Errors in the CLI's own input

    @Test(arguments: [
        ["run", "--no-such-flag", "--lang", "python", "-c", "1"],
        ["frobnicate"],
        ["run", "/nonexistent/program.py"],
        ["run", "--lang", "cobol", "-c", "DISPLAY 'HI'"],
        ["run", "--timeout", "301", "--lang", "python", "-c", "1"],
        ["run", "--timeout", "0", "--lang", "python", "-c", "1"],
        ["run", "--timeout", "abc", "--lang", "python", "-c", "1"],
        ["run", "--memory", "4096", "--lang", "python", "-c", "1"],
        ["run", "--memory", "-1", "--lang", "python", "-c", "1"],
        ["run", "--processes", "0", "--lang", "python", "-c", "1"],
        ["run", "--output-limit", "0", "--lang", "python", "-c", "1"],
        ["run", "--file-size", "2000", "--lang", "python", "-c", "1"],
        ["run", "-c", "print(1)"],
        ["run"],
        ["run", "-"],
        ["run", "--env", "NOEQUALS", "--lang", "python", "-c", "1"],
        ["run", "--stdin-file", "/nonexistent/input", "--lang", "python", "-c", "1"],
        ["run", "--lang", "python", "-c", "1", "also-a-file.py"],
    ])
    func badInputGivesOneLineAndExit64(arguments: [String]) async throws {
        let out = try await CorralCLI.run(arguments)
        #expect(out.exitCode == 64, "\(arguments): exit \(out.exitCode), stderr \(out.stderr)")
        #expect(out.stdout.isEmpty)
        #expect(out.stderrLines.count == 1, "one line, got: \(out.stderr)")
        #expect(out.stderr.hasPrefix("corral: "))
        for trace in ["Fatal error", "Stack dump", "Backtrac", "Program crashed", "0x0000"] {
            #expect(!out.stderr.contains(trace), "no stack trace: \(out.stderr)")
        }
    }

    @Test func outOfRangeFlagsNameTheLimitAndAreNotClamped() async throws {
        let timeout = try await CorralCLI.run(["run", "--timeout", "301", "--lang", "python", "-c", "1"])
        #expect(timeout.stderr.contains("--timeout 301 is out of range"))
        let memory = try await CorralCLI.run(["run", "--memory", "4096", "--lang", "python", "-c", "1"])
        #expect(memory.stderr.contains("--memory 4096 is out of range"))
    }

    @Test func unknownFileExtensionAsksForLang() async throws {
        let dir = try CorralCLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("notes.txt")
        try Data("print(1)\n".utf8).write(to: file)
        let out = try await CorralCLI.run(["run", file.path])
        #expect(out.exitCode == 64)
        #expect(out.stderrLines.count == 1)
        #expect(out.stderr.contains("--lang"))
        let withLang = try await CorralCLI.run(["run", "--lang", "python", file.path])
        #expect(withLang.exitCode == 0)
        #expect(withLang.stdout == "1\n")
    }

    @Test func helpAndVersionExitZero() async throws {
        let help = try await CorralCLI.run(["run", "--help"])
        #expect(help.exitCode == 0)
        #expect(help.stdout.contains("--timeout"))
        let version = try await CorralCLI.run(["--version"])
        #expect(version.exitCode == 0)
        #expect(!version.stdout.isEmpty)
    }

    // MARK: Ways to give the program

    @Test(arguments: [
        ("main.py", "import sys\nprint('py', sys.version_info[0])\n", "py 3\n"),
        ("script.sh", "echo sh $((6 * 7))\n", "sh 42\n"),
        ("app.js", "console.log('js', 6 * 7)\n", "js 42\n"),
    ])
    func fileLanguageComesFromItsExtension(name: String, code: String, expected: String) async throws {
        let dir = try CorralCLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent(name)
        try Data(code.utf8).write(to: file)
        let out = try await CorralCLI.run(["run", file.path])
        #expect(out.exitCode == 0, "\(out.stderr)")
        #expect(out.stdout == expected)
    }

    @Test func codeOnStandardInputWithLangDash() async throws {
        let out = try await CorralCLI.run(["run", "--lang", "python", "-"], stdin: Data("print('from stdin')\n".utf8))
        #expect(out.exitCode == 0, "\(out.stderr)")
        #expect(out.stdout == "from stdin\n")
    }

    @Test func argumentsAfterTheTerminatorArePassedLiterally() async throws {
        let args = ["plain", "with space", "--json", "-c", "$HOME", "*", "", "--", "ünï"]
        let out = try await CorralCLI.run(["run", "--lang", "python", "-c", "import sys, json\nprint(json.dumps(sys.argv[1:]))", "--"] + args)
        #expect(out.exitCode == 0, "\(out.stderr)")
        let decoded = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String]
        #expect(decoded == args)
    }

    @Test func environmentFlagsReachTheProgram() async throws {
        let out = try await CorralCLI.run(
            ["run", "--env", "GREETING=hello", "--env", "EQUATION=a=b", "--env", "EMPTY=", "--lang", "python", "-c",
             "import os\nprint(os.environ['GREETING'], os.environ['EQUATION'], repr(os.environ['EMPTY']), 'SECRET' in os.environ)"],
            environment: ["SECRET": "host-only"])
        #expect(out.exitCode == 0, "\(out.stderr)")
        #expect(out.stdout == "hello a=b '' False\n")
    }

    @Test func stdinFileFeedsTheProgram() async throws {
        let dir = try CorralCLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("input.txt")
        let text = String(repeating: "line\n", count: 300_000) // 1.5 MB
        try Data(text.utf8).write(to: input)
        let out = try await CorralCLI.run(["run", "--stdin-file", input.path, "--lang", "python", "-c",
                                           "import sys\nd = sys.stdin.read()\nprint(len(d), d.count('line'))"])
        #expect(out.exitCode == 0, "\(out.stderr)")
        #expect(out.stdout == "\(text.utf8.count) 300000\n")

        let fromOwnStdin = try await CorralCLI.run(["run", "--stdin-file", "-", "--lang", "bash", "-c", "tr a-z A-Z"],
                                                   stdin: Data("shout\n".utf8))
        #expect(fromOwnStdin.stdout == "SHOUT\n")
    }

    @Test func limitFlagsReachTheJail() async throws {
        let processes = try await CorralCLI.run(["run", "--json", "--processes", "8", "--lang", "python", "-c", """
            import threading, time
            try:
                for _ in range(50): threading.Thread(target=time.sleep, args=(5,), daemon=True).start()
            except RuntimeError: print('capped')
            """])
        let p = try processes.jsonObject()
        #expect(p["stdout"] as? String == "capped\n")
        #expect(p["limit_exceeded"] as? String == "processes")

        let fileSize = try await CorralCLI.run(["run", "--json", "--file-size", "1", "--lang", "bash", "-c", "exec head -c 5M /dev/zero > f"])
        let f = try fileSize.jsonObject()
        #expect(f["status"] as? String == "killed")
        #expect(f["limit_exceeded"] as? String == "file_size")
        #expect(fileSize.exitCode == 128 + 25)
    }

    // MARK: doctor

    @Test func doctorJSONReportsTheCgroupVersionAndAWorkingJail() async throws {
        let out = try await CorralCLI.run(["doctor", "--json"])
        #expect(out.exitCode == 0, "\(out.stderr)")
        let object = try out.jsonObject()
        #expect(["v1", "v2"].contains(object["cgroup_version"] as? String ?? ""), "cgroup_version: \(object["cgroup_version"] ?? "missing")")
        #expect(object["jail_works"] as? Bool == true)
        #expect(object["degraded"] is [Any])
        // What a cgroup move costs: measured on v1 (a figure), explained on v2 (a note); never an action.
        let migration = object["cgroup_migration"] as? [String: Any]
        #expect(migration?["idle_move_ms"] is Double || migration?["note"] is String, "cgroup_migration: \(String(describing: migration))")
        #expect(migration?["favordynmods_supported"] is Bool)
        let checks = object["checks"] as? [[String: Any]] ?? []
        let names = Set(checks.compactMap { $0["name"] as? String })
        for required in ["namespace.user", "namespace.pid", "seccomp", "overlayfs", "jail"] {
            #expect(names.contains(required), "doctor checks \(required)")
        }

        let human = try await CorralCLI.run(["doctor"])
        #expect(human.exitCode == 0)
        #expect(human.stdout.contains("cgroup"))
    }
}
