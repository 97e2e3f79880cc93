@testable import CorralRuntimes
import CorralSandbox
import CorralTestSupport
import Foundation
import Testing

/// The compile stage runs under the request's limits, raised to the catalog's floors and capped at
/// `CompileLimits.maximum`; when one stops the compiler, the result names it.
@Suite(.enabled(if: TestSupport.jailsAvailable))
struct CompileLimitsTests {
    static let compiled = LanguagePrograms.all.filter { LanguageCatalog.shipped.language(named: $0.language)?.isCompiled == true }

    /// The smallest limits a request may ask for (`ResourceLimits.validate`), with the default time:
    /// what the compiler gets beyond them is the catalog's floors.
    static var smallest: ResourceLimits {
        var l = ResourceLimits()
        l.memoryMB = 16
        l.processes = 1
        l.fileSizeMB = 1
        l.openFiles = 8
        l.tmpMB = 1
        return l
    }

    /// A C++ program whose compile takes minutes of constexpr evaluation with little memory
    /// (about 1 s per `rows` of 1000 here; 200000 rows is far past any test's patience).
    static func constexprSpin(rows: Int) -> String {
        """
        constexpr unsigned long long spin() {
            unsigned long long sum = 0;
            for (int i = 0; i < \(rows); ++i)
                for (int j = 0; j < 1000; ++j) sum += static_cast<unsigned long long>(i ^ j);
            return sum;
        }
        constexpr unsigned long long result = spin();
        int main() { return result == 42 ? 1 : 0; }
        """
    }
    /// gcc's default stops constexpr evaluation after 2^25 operations (about 4 s): raised so that only a limit ends it.
    static let unboundedConstexpr = ["-fconstexpr-ops-limit=1099511627776"]

    /// Two families of 440 × 440 template instantiations: about 1.2 GB in g++ 12, past the C++ floor.
    static let templateExplosion = """
        template <int Tag, int N, int M> struct Paths {
            static constexpr unsigned long long value = Paths<Tag, N - 1, M>::value + Paths<Tag, N, M - 1>::value;
        };
        template <int Tag, int M> struct Paths<Tag, 0, M> { static constexpr unsigned long long value = 1; };
        template <int Tag, int N> struct Paths<Tag, N, 0> { static constexpr unsigned long long value = 1; };
        int main() { return static_cast<int>((Paths<0, 440, 440>::value + Paths<1, 440, 440>::value) % 7); }
        """

    @Test("hello world compiles under the default request limits and under the smallest (the floors), and runs",
          arguments: compiled)
    func helloUnderRequestLimits(_ p: LanguagePrograms) async throws {
        try #require(LanguageTests.available.contains(p.language), "\(p.language) is not installed: run scripts/bootstrap")
        for (name, limits) in [("default", ResourceLimits()), ("smallest", Self.smallest)] {
            let (runtime, dir) = CompileCacheTests.freshRuntime()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let language = try #require(runtime.catalog.language(named: p.language))
            let request = RunRequest(language: p.language, code: p.hello, limits: limits)
            let stage = try #require(runtime.compileStage(for: request, language: language))
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let outcome = await stage.compile(into: dir)
            let jail = try #require(outcome.jail)
            // The measurement the catalog's floors and docs/languages.md are based on.
            print("compile \(p.language) hello, \(name) request limits: \(jail.status.rawValue), peak \(Int(jail.memoryUsedMb.rounded())) MiB, "
                  + "wall \(Int(jail.executionTimeMs)) ms, cpu \(Int(jail.cpuTimeMs)) ms under \(stage.limits.memoryMB) MB, "
                  + "\(stage.limits.processes) processes, \(stage.limits.fileSizeMB) MB files, \(stage.limits.tmpMB) MB /tmp, "
                  + "\(stage.limits.openFiles) open files")
            #expect(outcome.result.isCacheable, "\(name): \(outcome.result.errorMessage ?? "") \(outcome.result.stderr)")
            #expect(jail.memoryUsedMb <= Double(stage.limits.memoryMB))
        }
        // Through the runtime, end to end, with the default limits (the run stage has its own floors).
        let (runtime, dir) = CompileCacheTests.freshRuntime()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = await runtime.run(RunRequest(language: p.language, code: p.hello))
        #expect(r.status == .success, "\(r.errorMessage ?? "") \(r.compile?.stderr ?? "") \(r.stderr)")
        #expect(r.stdout == "hello, world\n")
    }

    @Test("a compile past the request's 2 s stops at its time limit, named, and never past the compile maxima")
    func compileStopsAtRequestTimeout() async throws {
        try #require(LanguageTests.available.contains("cpp"))
        var limits = ResourceLimits()
        limits.memoryMB = 32
        limits.timeoutSeconds = 2
        var request = RunRequest(language: "cpp", code: Self.constexprSpin(rows: 200_000), limits: limits)
        request.compilerOptions = Self.unboundedConstexpr
        let (runtime, dir) = CompileCacheTests.freshRuntime()
        defer { try? FileManager.default.removeItem(atPath: dir) }

        let r = await runtime.run(request)
        #expect(r.status == .compileError, "\(r.status) \(r.errorMessage ?? "")")
        let compile = try #require(r.compile)
        #expect(compile.limitExceeded == .wallTime || compile.limitExceeded == .cpuTime, "\(compile)")
        #expect(r.limitExceeded == compile.limitExceeded)
        let message = r.errorMessage ?? ""
        #expect(message.hasPrefix("compile stage stopped: "), "\(message)")
        #expect(message.contains("limit of 2 s exceeded") && message.contains("timeout_seconds"), "\(message)")
        #expect(compile.executionTimeMs < 2000 + 1500, "the compile ran \(compile.executionTimeMs) ms past a 2 s limit")
        #expect(r.stdout.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix(".") }.isEmpty,
                "a stopped compile must not be cached")

        // The same request observed at the jail: its limits were the request's, raised to the C++ floors,
        // within the maxima, and it used no more.
        let language = try #require(runtime.catalog.language(named: "cpp"))
        let stage = try #require(runtime.compileStage(for: request, language: language))
        #expect(stage.limits.timeoutSeconds == 2)
        #expect(stage.limits.memoryMB == language.minimumCompileLimits?.memoryMB)
        Self.expectWithinMaxima(stage.limits)
        try FileManager.default.createDirectory(atPath: dir + "/observed", withIntermediateDirectories: true)
        let jail = try #require(await stage.compile(into: dir + "/observed").jail)
        #expect(jail.memoryUsedMb <= Double(stage.limits.memoryMB))
        #expect(jail.executionTimeMs < 2000 + 1500)
    }

    @Test("a compile past the memory floor stops at the memory limit, named, with a 32 MB request")
    func compileStopsAtMemoryLimit() async throws {
        try #require(LanguageTests.available.contains("cpp"))
        var limits = ResourceLimits()
        limits.memoryMB = 32
        let request = RunRequest(language: "cpp", code: Self.templateExplosion, limits: limits)
        let (runtime, dir) = CompileCacheTests.freshRuntime()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let language = try #require(runtime.catalog.language(named: "cpp"))
        let floor = try #require(language.minimumCompileLimits?.memoryMB)

        let r = await runtime.run(request)
        #expect(r.status == .compileError, "\(r.status) \(r.errorMessage ?? "")")
        #expect(r.compile?.status == .memoryLimit)
        #expect(r.compile?.limitExceeded == .memory)
        #expect(r.limitExceeded == .memory)
        #expect(r.errorMessage?.hasPrefix("compile stage stopped: memory limit of \(floor) MB exceeded") == true, "\(r.errorMessage ?? "")")

        let stage = try #require(runtime.compileStage(for: request, language: language))
        Self.expectWithinMaxima(stage.limits)
        try FileManager.default.createDirectory(atPath: dir + "/observed", withIntermediateDirectories: true)
        let jail = try #require(await stage.compile(into: dir + "/observed").jail)
        #expect(jail.status == .memoryLimit)
        #expect(jail.memoryUsedMb <= Double(floor) + 1, "peak \(jail.memoryUsedMb) MiB")
    }

    @Test("request limits are raised to the floors and every limit, compileLimits included, is capped at the maxima")
    func resolvedLimits() throws {
        let runtime = Runtime(sandbox: TestSupport.sandbox)
        let swift = try #require(runtime.catalog.language(named: "swift"))
        let c = try #require(runtime.catalog.language(named: "c"))

        var small = ResourceLimits()
        small.memoryMB = 32
        small.processes = 2
        small.timeoutSeconds = 2
        let raised = CompileLimits.resolve(RunRequest(language: "c", code: "", limits: small), language: c)
        #expect(raised.memoryMB == c.minimumCompileLimits?.memoryMB)
        #expect(raised.processes == c.minimumCompileLimits?.processes)
        #expect(raised.timeoutSeconds == 2, "no floor on time: it is the request's")

        var huge = ResourceLimits.maximum
        huge.cpuTimeSeconds = 300
        var request = RunRequest(language: "swift", code: "", limits: ResourceLimits())
        request.compileLimits = huge
        let capped = CompileLimits.resolve(request, language: swift)
        #expect(capped == CompileLimits.maximum, "\(capped)")
        let fromRunLimits = CompileLimits.resolve(RunRequest(language: "swift", code: "", limits: huge), language: swift)
        #expect(fromRunLimits == CompileLimits.maximum)
    }

    @Test("the maxima are valid jail limits and every catalog floor is within them")
    func floorsWithinMaxima() throws {
        try CompileLimits.maximum.validate()
        for language in LanguageCatalog.shipped.languages {
            guard let floors = language.minimumCompileLimits else { continue }
            let raised = floors.raise(ResourceLimits())
            #expect(raised.capped(at: CompileLimits.maximum) == raised, "\(language.name)'s floors exceed the compile maxima")
        }
    }

    static func expectWithinMaxima(_ limits: ResourceLimits, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(limits.capped(at: CompileLimits.maximum) == limits, "\(limits)", sourceLocation: sourceLocation)
    }
}
