import CorralRuntimes
import CorralSandbox
import CorralTestSupport
import Foundation
import Testing

@Suite(.enabled(if: TestSupport.jailsAvailable))
struct CompileCacheTests {
    /// A runtime with a private cache directory, so runs of other tests cannot pre-warm it.
    static func freshRuntime(maxBytes: Int = 1 << 30) -> (Runtime, String) {
        let dir = NSTemporaryDirectory() + "corral-cache-test-\(UUID().uuidString)"
        return (Runtime(sandbox: TestSupport.sandbox, compileCache: CompileCache(root: dir, maxBytes: maxBytes)), dir)
    }

    @Test("the second run of the same program skips compilation", arguments: ["c", "go", "rust", "java"])
    func secondRunIsCached(_ language: String) async throws {
        let (runtime, dir) = Self.freshRuntime()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let program = LanguagePrograms.all.first { $0.language == language }!.hello
        let first = await runtime.run(RunRequest(language: language, code: program))
        #expect(first.status == .success, "\(first.stderr)")
        #expect(first.compile?.cached == false)
        #expect((first.compile?.executionTimeMs ?? 0) > 0)
        let second = await runtime.run(RunRequest(language: language, code: program))
        #expect(second.status == .success)
        #expect(second.compile?.cached == true)
        #expect(second.stdout == "hello, world\n")
        // A different program is a different key.
        let changed = await runtime.run(RunRequest(language: language, code: program + "\n"))
        #expect(changed.compile?.cached == false)
    }

    @Test("compiler options are part of the key and passed literally")
    func compilerOptionsKeyTheCache() async throws {
        let (runtime, dir) = Self.freshRuntime()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let code = "#include <stdio.h>\nint main(void) { puts(GREETING); return 0; }"
        var a = RunRequest(language: "c", code: code)
        a.compilerOptions = ["-DGREETING=\"$(id) `x` a b\""]
        let ra = await runtime.run(a)
        #expect(ra.stdout == "$(id) `x` a b\n", "\(ra.stderr) \(ra.compile?.stderr ?? "")")
        var b = a
        b.compilerOptions = ["-DGREETING=\"other\""]
        let rb = await runtime.run(b)
        #expect(rb.stdout == "other\n", "\(rb)")
        #expect(rb.compile?.cached == false)
    }

    @Test("two runs compiling the same source at once both succeed and one compile is shared")
    func concurrentSameSource() async throws {
        let (runtime, dir) = Self.freshRuntime()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let code = "#include <stdio.h>\nint main(void) { puts(\"same\"); return 0; }"
        let results = await withTaskGroup(of: RunResult.self) { group in
            for _ in 0..<4 { group.addTask { await runtime.run(RunRequest(language: "c", code: code)) } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.allSatisfy { $0.status == .success && $0.stdout == "same\n" })
        #expect(results.filter { $0.compile?.cached == false }.count == 1)
        let entries = try FileManager.default.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix(".") }
        #expect(entries.count == 1)
    }

    @Test("the cache is bounded: least recently used entries are evicted")
    func boundedLRU() async throws {
        // Each C binary is ~16 KB: a 40 KB cache holds two.
        let (runtime, dir) = Self.freshRuntime(maxBytes: 40_000)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func program(_ i: Int) -> String { "#include <stdio.h>\nint main(void) { puts(\"\(i)\"); return 0; }" }
        for i in 0..<5 {
            let r = await runtime.run(RunRequest(language: "c", code: program(i)))
            #expect(r.stdout == "\(i)\n", "\(r.compile?.stderr ?? "") \(r.errorMessage ?? "")")
        }
        let entries = try FileManager.default.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix(".") }
        #expect(entries.count <= 2)
        let last = await runtime.run(RunRequest(language: "c", code: program(4)))
        #expect(last.compile?.cached == true)
        let first = await runtime.run(RunRequest(language: "c", code: program(0)))
        #expect(first.compile?.cached == false)
    }

    @Test("an artifact that is a symlink to a host file is not followed into the cache")
    func hostileArtifactsAreNotFollowed() async throws {
        let (runtime, dir) = Self.freshRuntime()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A "compiler" (bash) that plants a symlink to /etc/shadow and a FIFO in /out, plus a real file.
        var catalog = LanguageCatalog.shipped.languages
        var evil = catalog.first { $0.name == "bash" }!
        evil.name = "evilcompiled"; evil.aliases = []
        evil.compile = ["/bin/bash", "-c", "ln -s /etc/shadow /out/main; mkfifo /out/fifo; echo ok > /out/real"]
        evil.run = ["/bin/bash", "-c", "ls -la /out; cat /out/main 2>&1; cat /out/real"]
        catalog.append(evil)
        let custom = Runtime(sandbox: TestSupport.sandbox, catalog: LanguageCatalog(languages: catalog), compileCache: runtime.compileCache)
        let r = await custom.run(RunRequest(language: "evilcompiled", code: ""))
        #expect(r.status == .success, "\(r.stderr) \(r.errorMessage ?? "")")
        #expect(!r.stdout.contains("root:"), "host /etc/shadow disclosed: \(r.stdout)")
        #expect(r.stdout.contains("ok"))
        #expect(!r.stdout.contains("fifo"))
    }

    @Test("a cache directory the host cannot create is internal_error naming the path and errno, not compile_error")
    func hostFailureIsInternalError() async throws {
        let blocker = NSTemporaryDirectory() + "corral-cache-blocker-\(UUID().uuidString)"
        #expect(FileManager.default.createFile(atPath: blocker, contents: Data("a file, not a directory".utf8)))
        defer { try? FileManager.default.removeItem(atPath: blocker) }
        let runtime = Runtime(sandbox: TestSupport.sandbox, compileCache: CompileCache(root: blocker + "/cache"))
        let r = await runtime.run(RunRequest(language: "c", code: "int main(void) { return 0; }"))
        #expect(r.status == .internalError, "\(r)")
        let message = r.errorMessage ?? ""
        #expect(message.contains(blocker + "/cache"), "\(message)")
        #expect(message.contains("errno \(ENOTDIR)"), "\(message)")
        #expect(r.compile == nil, "nothing was compiled: \(r)")
    }

    @Test("a cache namespace separates entries; requests without one share")
    func namespacesSeparateEntries() async throws {
        let (runtime, dir) = Self.freshRuntime()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let code = "#include <stdio.h>\nint main(void) { puts(\"ns\"); return 0; }"
        func run(_ namespace: String?) async -> RunResult {
            var request = RunRequest(language: "c", code: code)
            request.cacheNamespace = namespace
            return await runtime.run(request)
        }
        let a = await run("tenant-a")
        #expect(a.compile?.cached == false)
        #expect(a.stdout == "ns\n")
        #expect(await run("tenant-b").compile?.cached == false)
        #expect(await run(nil).compile?.cached == false)
        #expect(await run("tenant-a").compile?.cached == true)
        #expect(await run(nil).compile?.cached == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix(".") }.count == 3)
    }

    @Test("a compile failing under one request's small limits does not fail a concurrent one with room")
    func failuresAreNotShared() async throws {
        let (runtime, dir) = Self.freshRuntime()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // About 3 s of constexpr evaluation in g++ on this machine.
        func request(timeout: Double) -> RunRequest {
            var limits = ResourceLimits()
            limits.timeoutSeconds = timeout
            var r = RunRequest(language: "cpp", code: CompileLimitsTests.constexprSpin(rows: 3000), limits: limits)
            r.compilerOptions = CompileLimitsTests.unboundedConstexpr
            return r
        }
        async let small = runtime.run(request(timeout: 1))
        try await Task.sleep(for: .milliseconds(300)) // the small one's compile is in flight first
        async let roomy = runtime.run(request(timeout: 60))
        let (s, r) = await (small, roomy)
        #expect(s.status == .compileError && s.limitExceeded != nil, "\(s.status) \(s.errorMessage ?? "")")
        #expect(r.status == .success, "\(r.status) \(r.errorMessage ?? "") \(r.compile?.stderr ?? "")")
        #expect(r.compile?.cached == false, "the roomy request compiled for itself")
    }
}
