import CorralRuntimes
import CorralSandbox
import CorralTestSupport
import Foundation
import Testing

/// Every catalog language, through real jails: hello, stdin, runtime error, compile error.
@Suite(.enabled(if: TestSupport.jailsAvailable))
struct LanguageTests {
    static let available: Set<String> = Set(LanguageCatalog.shipped.languages.map(LanguageProbe.probe).filter(\.available).map(\.name))

    @Test("every catalog language has test programs and the catalog has at least 15")
    func catalogIsCovered() {
        let names = Set(LanguageCatalog.shipped.names)
        #expect(names.count >= 15)
        #expect(names == Set(LanguagePrograms.all.map(\.language)))
    }

    @Test("hello world", arguments: LanguagePrograms.all)
    func hello(_ p: LanguagePrograms) async throws {
        try #require(Self.available.contains(p.language), "\(p.language) is not installed: run scripts/bootstrap")
        let r = await TestSupport.run(p.language, p.hello)
        #expect(r.status == .success, "\(r.stderr) \(r.errorMessage ?? "")")
        #expect(r.stdout == "hello, world\n")
        #expect(r.exitCode == 0)
    }

    @Test("stdin is echoed", arguments: LanguagePrograms.all)
    func echo(_ p: LanguagePrograms) async throws {
        try #require(Self.available.contains(p.language))
        let input = "first line\nsecond: ünïcode ✓\n"
        let r = await TestSupport.run(p.language, p.echo, stdin: input)
        #expect(r.status == .success, "\(r.stderr) \(r.errorMessage ?? "")")
        #expect(r.stdout == input)
    }

    @Test("a runtime error exits non-zero with the error on stderr", arguments: LanguagePrograms.all)
    func runtimeError(_ p: LanguagePrograms) async throws {
        try #require(Self.available.contains(p.language))
        let r = await TestSupport.run(p.language, p.runtimeError)
        #expect(r.status == .error || r.status == .killed, "\(r.status) \(r.errorMessage ?? "")")
        #expect(r.exitCode != 0)
        #expect(r.stderr.contains(p.runtimeErrorMarker), "stderr: \(r.stderr)")
    }

    @Test("a compile error is compile_error with the compiler's message",
          arguments: LanguagePrograms.all.filter { $0.compileError != nil })
    func compileError(_ p: LanguagePrograms) async throws {
        try #require(Self.available.contains(p.language))
        let r = await TestSupport.run(p.language, p.compileError!)
        #expect(r.status == .compileError)
        let compile = try #require(r.compile)
        #expect(compile.exitCode != 0)
        #expect(compile.stderr.contains(p.compileErrorMarker!), "compiler said: \(compile.stderr)")
        #expect(r.stdout.isEmpty)
    }

    @Test("every compiled language in the catalog has a compile-error program")
    func compiledLanguagesHaveCompileErrorCases() {
        for language in LanguageCatalog.shipped.languages where language.isCompiled {
            #expect(LanguagePrograms.all.first { $0.language == language.name }?.compileError != nil, "\(language.name)")
        }
    }
}
