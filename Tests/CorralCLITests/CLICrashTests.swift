import CorralTestSupport
import Foundation
import Testing

/// The CLI never dies of a signal of its own: not on a reader that closes early (EPIPE on
/// stdout or stderr), not on numbers out of range. And a run leaves no jail behind.
@Suite("CLI crashes", .enabled(if: TestSupport.jailsAvailable))
struct CLICrashTests {
    /// 5 MB of output, under an output limit that lets all of it through to the reader.
    static let bigOutput = ["--output-limit", "8000000", "--lang", "bash", "-c", "yes | head -c 5000000"]

    @Test("human mode into `head -c 1`: exits with the program's status, no signal, nothing left", arguments: [false, true])
    func humanModeIntoClosedReader(closeStderr: Bool) async throws {
        try await expectCleanExit(["run"] + Self.bigOutput, closeStderr: closeStderr)
    }

    @Test("--json with large output into `head -c 1`: no signal, nothing left", arguments: [false, true])
    func jsonIntoClosedReader(closeStderr: Bool) async throws {
        try await expectCleanExit(["run", "--json"] + Self.bigOutput, closeStderr: closeStderr)
    }

    @Test("other commands into `head -c 1`: no signal")
    func otherCommandsIntoClosedReader() async throws {
        for arguments in [["languages"], ["languages", "--json"], ["run", "--help"]] {
            let outcome = try await PipedCLI.run(arguments, closeStderr: true)
            #expect(outcome.reason == .exit, "\(arguments) died of signal \(outcome.status)")
            #expect(outcome.status == 0, "\(arguments): exit \(outcome.status)")
        }
    }

    /// Runs `arguments` into readers that close early and checks the CLI exited by itself
    /// with the program's status (0), and that neither a process nor a cgroup of its jail remains.
    private func expectCleanExit(_ arguments: [String], closeStderr: Bool) async throws {
        let marker = "CORRAL_TEST_MARK=\(UUID().uuidString)"
        let outcome = try await PipedCLI.run(["run", "--env", marker] + arguments.dropFirst(), closeStderr: closeStderr)
        #expect(outcome.reason == .exit, "corral died of signal \(outcome.status) (4 is SIGILL): \(outcome.stderr)")
        #expect(outcome.status == 0, "exit \(outcome.status): \(outcome.stderr)")
        for trace in ["Fatal error", "Program crashed", "Illegal instruction"] {
            #expect(!outcome.stderr.contains(trace), "\(outcome.stderr)")
        }
        #expect(!outcome.children.isEmpty, "the watcher saw the jail's init")
        let alive = outcome.children.filter(HostProcesses.exists)
        #expect(alive.isEmpty, "processes the CLI cloned outlived it (jail inits, zombies included): \(alive)")
        #expect(HostProcesses.carrying(marker).isEmpty, "a process of the jail outlived the CLI")
        #expect(HostProcesses.cgroups(of: outcome.pid).isEmpty, "jail cgroups of the CLI remain")
    }

    // MARK: Numbers out of range

    @Test(arguments: [
        (["--timeout", "1e19"], "--timeout"),
        (["--timeout", "-1e19"], "--timeout"),
        (["--timeout", "1.7e308"], "--timeout"),
        (["--timeout", "nan"], "--timeout"),
        (["--timeout", "inf"], "--timeout"),
        (["--timeout", "1e-300"], "--timeout"),
        (["--memory", "-5"], "--memory"),
        (["--memory", "9223372036854775807"], "--memory"),
        (["--memory", "-9223372036854775808"], "--memory"),
        (["--memory", "123456789012345678901234567890"], "--memory"),
        (["--processes", "9223372036854775807"], "--processes"),
        (["--output-limit", "-9223372036854775808"], "--output-limit"),
        (["--file-size", "1e19"], "--file-size"),
    ])
    func outOfRangeNumberExits64NamingTheFlag(flag: [String], name: String) async throws {
        let out = try await CorralCLI.run(["run"] + flag + ["--lang", "python", "-c", "print(1)"])
        #expect(out.exitCode == 64, "\(flag): exit \(out.exitCode), stderr \(out.stderr)")
        #expect(out.stderrLines.count == 1, "one line: \(out.stderr)")
        #expect(out.stderr.contains(name), "names the flag: \(out.stderr)")
        #expect(out.stdout.isEmpty)
    }

    @Test func timeoutMessageShowsTheValueAndTheRange() async throws {
        let out = try await CorralCLI.run(["run", "--timeout", "1e19", "--lang", "python", "-c", "print(1)"])
        #expect(out.stderr == "corral: --timeout 1e+19 is out of range: allowed 0.001...300\n", "\(out.stderr)")
        let memory = try await CorralCLI.run(["run", "--memory", "-5", "--lang", "python", "-c", "print(1)"])
        #expect(memory.stderr == "corral: --memory -5 is out of range: allowed 16...2048\n", "\(memory.stderr)")
    }
}

/// `corral serve` settings that overflowed a conversion or a product are refused before it binds.
@Suite("CLI serve settings")
struct ServeSettingsCrashTests {
    @Test(arguments: [
        (["--workers", "9223372036854775807"], "workers"),
        (["--workers", "0"], "workers"),
        (["--grace", "1e19"], "grace"),
        (["--grace", "-1"], "grace"),
        (["--grace", "nan"], "grace"),
        (["--queue", "-1"], "queue"),
    ])
    func outOfRangeSettingExits64(flag: [String], name: String) async throws {
        let out = try await CorralCLI.run(["serve", "--port", "0", "--history", "memory"] + flag)
        #expect(out.exitCode == 64, "\(flag): exit \(out.exitCode), stderr \(out.stderr)")
        #expect(out.stderr.contains(name), "names the setting: \(out.stderr)")
    }
}
