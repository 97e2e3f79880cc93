@testable import CorralRuntimes
import Foundation
import Testing

/// The version cache of `corral languages`: a stored version is used while the toolchain's files
/// are the same, and probed again once they change.
@Suite struct ToolchainVersionCacheTests {
    /// A language whose version command is a script in `directory` printing `version`.
    static func fakeLanguage(in directory: String, version: String) throws -> Language {
        let script = directory + "/fake-version"
        try "#!/bin/sh\necho '\(version)'\n".write(toFile: script, atomically: false, encoding: .utf8)
        chmod(script, 0o755)
        var language = try #require(LanguageCatalog.shipped.language(named: "bash"))
        language.name = "fake"
        language.version = [script]
        language.probeExecutable = script
        return language
    }

    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "corral-version-cache-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("a stored version is reused while the files are unchanged, and probed again when they change")
    func reuseAndInvalidate() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cache = ToolchainVersionCache(directory: directory)
        var language = try Self.fakeLanguage(in: directory, version: "fake 1.0")
        let catalog = LanguageCatalog(languages: [language])

        let first = await LanguageProbe.probeAll(catalog, cache: cache)
        #expect(first.map(\.version) == ["fake 1.0"])
        #expect(cache.load()["fake"]?.version == "fake 1.0")

        // The stored entry answers while the script is the same file: its stored text comes back.
        var entries = cache.load()
        entries["fake"]?.version = "from the cache"
        try JSONEncoder().encode(entries).write(to: URL(fileURLWithPath: cache.path))
        let second = await LanguageProbe.probeAll(catalog, cache: cache)
        #expect(second.map(\.version) == ["from the cache"])
        #expect(second.first?.available == true)

        // An upgrade replaces the file: the entry no longer matches and the command runs again.
        try FileManager.default.removeItem(atPath: language.version[0])
        language = try Self.fakeLanguage(in: directory, version: "fake 2.0")
        let third = await LanguageProbe.probeAll(LanguageCatalog(languages: [language]), cache: cache)
        #expect(third.map(\.version) == ["fake 2.0"])
        #expect(cache.load()["fake"]?.version == "fake 2.0")
    }

    @Test("a failing probe is neither reused nor stored")
    func failuresAreNotCached() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cache = ToolchainVersionCache(directory: directory)
        var language = try Self.fakeLanguage(in: directory, version: "x")
        try "#!/bin/sh\nexit 3\n".write(toFile: language.version[0], atomically: false, encoding: .utf8)
        language.name = "broken"
        let infos = await LanguageProbe.probeAll(LanguageCatalog(languages: [language]), cache: cache)
        #expect(infos.first?.available == false)
        #expect(infos.first?.reason?.contains("exit 3") == true)
        #expect(cache.load()["broken"] == nil)
    }
}
