import CorralRuntimes
import CorralSandbox
import CorralTestSupport
import Foundation
import Testing

/// Warm jails: a run on a jail started ahead of time gives the cold run's result, nothing of one run
/// reaches the next, limits hold as on a cold jail, and a broken warm jail costs the caller nothing.
@Suite(.serialized, .enabled(if: TestSupport.jailsAvailable))
struct WarmPoolTests {
    /// Its own runtime with warm pools (the shared one is cold unless CORRAL_TEST_JAIL_PATH=warm).
    static let runtime: Runtime = {
        var settings = WarmPoolSettings()
        settings.maxPerLanguage = 2
        settings.prewarm = ["python", "javascript"]
        settings.idleSeconds = 3600
        settings.waitForJailSeconds = 60
        return Runtime(sandbox: TestSupport.sandbox, warmPools: settings)
    }()

    /// Programs printing their argv, an environment variable, their stdin and their exit status.
    static let echoes: [(String, String)] = [
        ("bash", #"printf '%s|' "$0" "$@"; printf '%s|' "$GREETING"; cat; exit 3"#),
        ("ruby", #"print [$0, *ARGV, ENV["GREETING"], STDIN.read].join("|"); exit 3"#),
        ("perl", #"print join("|", $0, @ARGV, $ENV{GREETING}, do { local $/; <STDIN> }); exit 3;"#),
        ("php", #"<?php echo implode("|", array_merge($argv, [getenv("GREETING"), stream_get_contents(STDIN)])); exit(3);"#),
        ("lua", #"io.write(table.concat({arg[0], arg[1], arg[2], arg[3], os.getenv("GREETING"), io.read("a")}, "|")); os.exit(3)"#),
    ]

    /// Runs on a warm jail (the runtime waits for one) and checks that the run took it.
    func warm(_ language: String, _ code: String, stdin: String = "", arguments: [String] = [],
              environment: [(key: String, value: String)] = [], limits: ResourceLimits = ResourceLimits(),
              writableWorkspace: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) async -> RunResult {
        let pools = Self.runtime.warmPools!
        let before = pools.snapshot()[language]!
        var request = RunRequest(language: language, code: code, arguments: arguments, stdin: Array(stdin.utf8),
                                 environment: environment, limits: limits)
        request.writableWorkspace = writableWorkspace
        let result = await Self.runtime.run(request)
        let after = pools.snapshot()[language]!
        #expect(after.hits == before.hits + 1 && after.fallbacks == before.fallbacks, "the run was not warm: \(after)",
                sourceLocation: sourceLocation)
        // One count per run: a run that waited for its jail (none was ready: exec languages are not
        // prewarmed here) is a hit, not also a miss.
        #expect(after.misses == before.misses, "a warm run was also counted as a miss: \(before) -> \(after)",
                sourceLocation: sourceLocation)
        return result
    }

    @Test("a warm Python run gives the cold run's output, argv, environment, stdin and traceback")
    func pythonMatchesCold() async {
        let code = """
        import os, sys
        print(sys.argv, __name__, __file__, sys.path[0], os.environ.get("GREETING"), os.getcwd(), os.getuid())
        print(sys.orig_argv)
        print(sys.stdin.read())
        raise ValueError("boom")
        """
        let args = ["a b", "", "ü"]
        let env = [(key: "GREETING", value: "hi=there")]
        let warm = await warm("python", code, stdin: "line1\nline2", arguments: args, environment: env)
        let cold = await TestSupport.runtime.run(RunRequest(language: "python", code: code, arguments: args,
                                                            stdin: Array("line1\nline2".utf8), environment: env))
        #expect(warm.status == .error && warm.exitCode == 1)
        #expect(warm.stdout == cold.stdout)
        #expect(warm.stderr == cold.stderr)
        #expect(warm.stdout.contains("['/workspace/main.py', 'a b', '', 'ü'] __main__ /workspace/main.py /workspace hi=there /workspace 1000"))
    }

    @Test("a source Python's compile() refuses but `python3 FILE` runs (a NUL byte) runs as it would cold")
    func pythonSourceWithNul() async {
        let code = "print(1)\u{0}print(2)\n"
        let warm = await warm("python", code)
        let cold = await TestSupport.runtime.run(RunRequest(language: "python", code: code))
        #expect(warm.stdout == cold.stdout && warm.exitCode == cold.exitCode, "warm \(warm), cold \(cold)")
    }

    @Test("a warm JavaScript run gives the cold run's output, argv, environment and stdin")
    func javascriptMatchesCold() async {
        let code = #"console.log(JSON.stringify([process.argv.slice(1), process.env.GREETING, process.cwd(), require("fs").readFileSync(0, "utf8")]))"#
        let warm = await warm("javascript", code, stdin: "in", arguments: ["x"], environment: [(key: "GREETING", value: "hi")])
        #expect(warm.status == .success, "\(warm)")
        #expect(warm.stdout == #"[["/workspace/main.js","x"],"hi","/workspace","in"]"# + "\n")
    }

    @Test("exec-bootstrap languages give the cold run's argv, environment, stdin and exit status",
          arguments: WarmPoolTests.echoes.map(\.0))
    func execBootstrapMatchesCold(language: String) async throws {
        let code = try #require(Self.echoes.first { $0.0 == language }?.1)
        let args = ["a b", "", "ü"]
        let env = [(key: "GREETING", value: "hi=there"), (key: "LANG", value: "C")]
        let warm = await warm(language, code, stdin: "in\nput", arguments: args, environment: env)
        let cold = await TestSupport.runtime.run(RunRequest(language: language, code: code, arguments: args,
                                                            stdin: Array("in\nput".utf8), environment: env))
        #expect(warm.exitCode == 3 && cold.exitCode == 3, "warm \(warm), cold \(cold)")
        #expect(warm.stdout == cold.stdout && warm.stderr == cold.stderr, "warm \(warm), cold \(cold)")
        #expect(warm.stdout.contains("|a b||ü|hi=there|in\nput"), "\(warm.stdout)")
    }

    @Test("process.execArgv is empty as under node FILE, and child_process.fork starts the child as it would")
    func javascriptForkRunsTheChild() async {
        let code = """
        const { fork } = require('child_process');
        if (process.argv[2] === 'child') { process.send('from child ' + process.execArgv.length); }
        else { const c = fork(__filename, ['child']); c.on('message', (m) => { console.log(m, process.execArgv.length); c.kill(); }); }
        """
        var limits = ResourceLimits()
        limits.timeoutSeconds = 10
        let r = await warm("javascript", code, limits: limits)
        #expect(r.status == .success && r.stdout == "from child 0 0\n", "\(r)")
    }

    @Test("nothing of run A reaches run B on the same pool: globals, builtins, files, processes")
    func stateDoesNotLeak() async {
        let a = """
        import builtins, json, subprocess, sys, os
        json.leak = "A"
        builtins.print = lambda *a, **k: None
        for path in ["/tmp/leak", "/dev/shm/leak", "/workspace/leak"]:
            open(path, "w").write("A")
        subprocess.Popen(["/bin/sh", "-c", "exec -a corral-warm-leak sleep 300"], start_new_session=True)
        os.write(1, b"a done\\n")
        """
        let first = await warm("python", a)
        #expect(first.status == .success, "\(first)")
        #expect(TestSupport.hostShell("pgrep -f corral-warm-lea[k]").0 != 0, "a process of run A outlived it on the host")
        let b = """
        import builtins, json, os
        print(getattr(json, "leak", None), builtins.print.__name__)
        print([p for p in ["/tmp/leak", "/dev/shm/leak", "/workspace/leak"] if os.path.exists(p)])
        print(sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
        """
        let second = await warm("python", b)
        #expect(second.status == .success, "\(second)")
        #expect(second.stdout == "None print\n[]\n[1, 2]\n", "\(second.stdout)")
    }

    @Test("a run cannot see, signal or trace the jails waiting in the pool")
    func waitingJailsAreOutOfReach() async {
        let pools = Self.runtime.warmPools!
        _ = await warm("python", "pass") // the pool now holds a waiting jail beside the next one taken
        for _ in 0..<300 where (pools.snapshot()["python"]?.ready ?? 0) < 1 { try? await Task.sleep(for: .milliseconds(20)) }
        let waiting = TestSupport.hostShell("pgrep -f '^/usr/bin/python3 -B -c def _corral_warm' | sort").1
        let r = await warm("python", """
        import ctypes, os, signal
        libc = ctypes.CDLL(None, use_errno=True)
        pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
        try:
            os.kill(-1, signal.SIGKILL)  # every process this run may signal, i.e. its own jail's
        except OSError as e:
            print("kill_all", e.errno)
        print("ptrace_init", libc.ptrace(16, 1, 0, 0), ctypes.get_errno())  # PTRACE_ATTACH to its own init
        print("pids", pids)
        """)
        // kill(-1) took the program itself (nothing else is visible): its output so far is all there is.
        #expect(r.signal == Int(SIGKILL) || r.stdout.contains("pids [1, 2]"), "\(r)")
        #expect(!r.stdout.contains("ptrace_init 0"), "\(r)")
        let after = TestSupport.hostShell("pgrep -f '^/usr/bin/python3 -B -c def _corral_warm' | sort").1
        let survivors = Set(after.split(separator: "\n")).intersection(Set(waiting.split(separator: "\n")))
        #expect(!survivors.isEmpty || waiting.isEmpty, "the waiting interpreters \(waiting) died with the run: \(after)")
        let next = await warm("python", "print('still warm')")
        #expect(next.stdout == "still warm\n")
    }

    @Test("limits hold on a warm jail: memory, processes, output, file size, wall time, CPU time")
    func limits() async {
        var l = ResourceLimits()
        l.memoryMB = 64
        let memory = await warm("python", "x = bytearray(200 << 20)\nprint(len(x))", limits: l)
        #expect(memory.status == .memoryLimit && memory.limitExceeded == .memory, "\(memory)")

        l = ResourceLimits(); l.processes = 8
        let procs = await warm("python", """
        import os
        n = 0
        try:
            for _ in range(50):
                if os.fork() == 0:
                    import time; time.sleep(5); os._exit(0)
                n += 1
        except OSError:
            print("refused after", n)
        """, limits: l)
        #expect(procs.stdout.hasPrefix("refused after"), "\(procs)")

        l = ResourceLimits(); l.outputBytes = 1000
        let output = await warm("python", "print('x' * 5000)", limits: l)
        #expect(output.status == .outputLimit && output.stdout.count <= 1000, "\(output.status)")

        l = ResourceLimits(); l.fileSizeMB = 1
        // Python ignores SIGXFSZ: the write fails with EFBIG at the limit, as on a cold jail.
        let fsize = await warm("python", """
        try:
            open('/tmp/big', 'wb').write(b'x' * (4 << 20))
        except OSError as e:
            import errno, os
            print(errno.errorcode[e.errno], os.path.getsize('/tmp/big'))
        """, limits: l)
        #expect(fsize.stdout == "EFBIG \(1 << 20)\n", "\(fsize)")

        l = ResourceLimits(); l.timeoutSeconds = 1
        let wall = await warm("python", "import time\ntime.sleep(10)", limits: l)
        #expect(wall.status == .timeout && wall.limitExceeded == .wallTime, "\(wall)")
        #expect(wall.executionTimeMs >= 1000 && wall.executionTimeMs < 1300, "\(wall.executionTimeMs)")

        l = ResourceLimits(); l.cpuTimeSeconds = 0.5; l.timeoutSeconds = 10
        let cpu = await warm("python", "while True: pass", limits: l)
        #expect(cpu.status == .timeout && cpu.limitExceeded == .cpuTime, "\(cpu)")
        #expect(cpu.cpuTimeMs >= 500 && cpu.cpuTimeMs < 900, "\(cpu.cpuTimeMs)")

        l = ResourceLimits(); l.workspaceMB = 1
        let disk = await warm("python", "open('/workspace/f', 'wb').write(b'x' * (3 << 20))", limits: l)
        #expect(disk.status == .error && disk.stderr.contains("No space left"), "\(disk)")
    }

    @Test("a run asking for more than the template's limits runs warm with them")
    func raisedLimits() async {
        var l = ResourceLimits()
        l.memoryMB = 1024; l.processes = 200; l.openFiles = 2048; l.fileSizeMB = 100; l.tmpMB = 128; l.workspaceMB = 300
        let r = await warm("python", """
        import resource, os
        print(resource.getrlimit(resource.RLIMIT_NOFILE)[1], resource.getrlimit(resource.RLIMIT_FSIZE)[1] >> 20)
        for p in ["/tmp", "/workspace"]:
            s = os.statvfs(p); print(s.f_blocks * s.f_frsize >> 20)
        x = bytearray(700 << 20)
        print(len(x) >> 20)
        """, limits: l)
        #expect(r.stdout == "2048 100\n128\n300\n700\n", "\(r)")
    }

    @Test("execution_time_ms is the program's own time from the hand-off, not the interpreter's start")
    func executionTime() async {
        let started = ContinuousClock.now
        let r = await warm("python", "import time\ntime.sleep(0.2)")
        let outside = (ContinuousClock.now - started) / .milliseconds(1)
        #expect(r.status == .success)
        #expect(r.executionTimeMs >= 200, "\(r.executionTimeMs)")
        #expect(r.executionTimeMs <= outside + 1, "reported \(r.executionTimeMs) ms, measured \(outside) ms from outside")
        // A cold `pass` pays the interpreter's start; a warm one must not be charged for it. Medians
        // of five each: one run's CPU figure moves by milliseconds on a busy 2-core host.
        var warmCPU: [Double] = [], coldCPU: [Double] = []
        for _ in 0..<5 {
            warmCPU.append(await warm("python", "pass").cpuTimeMs)
            coldCPU.append(await TestSupport.runtime.run(RunRequest(language: "python", code: "pass")).cpuTimeMs)
        }
        let warmMedian = warmCPU.sorted()[2], coldMedian = coldCPU.sorted()[2]
        print("python pass, CPU ms: warm \(warmCPU.map { Int($0) }), cold \(coldCPU.map { Int($0) })")
        #expect(warmMedian < coldMedian, "warm \(warmCPU) ms of CPU, cold \(coldCPU) ms")
    }

    @Test("a read-only workspace stays read-only on a warm jail; the run's files are there")
    func readOnlyWorkspace() async {
        let r = await warm("python", """
        import os
        print(open(__file__).read().count("print"))
        try:
            open("/workspace/x", "w")
        except OSError as e:
            print(e.errno == 30)
        """, writableWorkspace: false)
        #expect(r.stdout == "3\nTrue\n", "\(r)")
    }

    @Test("a run that sets what the interpreter reads only at start-up runs cold, with its effect")
    func startupEnvironmentRunsCold() async {
        let pools = Self.runtime.warmPools!
        let before = pools.snapshot()["python"]!
        let r = await Self.runtime.run(RunRequest(language: "python", code: "import sys\nprint(sys.flags.hash_randomization)",
                                                  environment: [(key: "PYTHONHASHSEED", value: "0")]))
        #expect(r.stdout == "0\n")
        #expect(pools.snapshot()["python"]!.hits == before.hits)
    }

    @Test("a warm jail that died waiting is replaced, and the run goes cold with the right result")
    func deadJailFallsBack() async {
        let pools = Self.runtime.warmPools!
        for _ in 0..<300 where (pools.snapshot()["python"]?.ready ?? 0) < 2 { try? await Task.sleep(for: .milliseconds(50)) }
        // Kill every waiting Python interpreter of this test process's jails from the host.
        _ = TestSupport.hostShell("pkill -KILL -f '^/usr/bin/python3 -B -c def _corral_warm'")
        try? await Task.sleep(for: .milliseconds(200))
        let r = await Self.runtime.run(RunRequest(language: "python", code: "print(6 * 7)"))
        #expect(r.status == .success && r.stdout == "42\n", "\(r)")
        let again = await warm("python", "print('warm again')")
        #expect(again.stdout == "warm again\n")
    }
}

/// A catalog's `warm` entries are checked when it loads: a typo must not leave a language cold silently.
struct WarmCatalogTests {
    static func load(_ mutate: (inout [String: Any]) -> Void) throws -> Result<LanguageCatalog, Error> {
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/CorralRuntimes/Catalog/languages.json")
        var document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: shipped)) as? [String: Any])
        var languages = try #require(document["languages"] as? [[String: Any]])
        var python = try #require(languages.first { $0["name"] as? String == "python" })
        mutate(&python)
        languages[0] = python
        document["languages"] = languages
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("catalog-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: document).write(to: path)
        defer { try? FileManager.default.removeItem(at: path) }
        return Result { try LanguageCatalog.load(path: path.path) }
    }

    @Test(arguments: [
        ("bootstrap", "pyhton", "warm bootstrap 'pyhton' is not one of python, node, exec"),
        ("run", "no placeholder", "must pass the bootstrap as {bootstrap}"),
    ])
    func aBadWarmEntryIsRefused(field: String, value: String, message: String) throws {
        let result = try Self.load { python in
            var warm = python["warm"] as? [String: Any] ?? [:]
            warm[field] = field == "run" ? ["/usr/bin/python3", value] : value
            python["warm"] = warm
        }
        guard case .failure(let error) = result else { Issue.record("a bad warm entry loaded"); return }
        #expect("\(error)".contains(message), "\(error)")
    }

    @Test func theShippedCatalogLoads() throws {
        guard case .success(let catalog) = try Self.load({ _ in }) else { Issue.record("the shipped catalog does not load"); return }
        #expect(catalog.languages.filter { $0.warm != nil }.map(\.name).sorted()
            == ["bash", "javascript", "lua", "perl", "php", "python", "ruby", "sql"])
    }
}
