@testable import CorralEngine
import CorralPolicy
import CorralRuntimes
import CorralSandbox
import CorralStore
import CorralTestSupport
import Foundation
import Testing

/// Fail closed: the engine does not start without its catalog, its validator's rules or its
/// profiles, and says which file is at fault and why.
@Suite("Engine start-up", .enabled(if: TestSupport.jailsAvailable))
struct EngineStartupTests {
    func start(policy directory: URL? = nil, catalog: String? = nil,
               _ tweak: (inout EngineConfiguration) -> Void = { _ in }) -> EngineError? {
        var configuration = EngineFixtures.configuration()
        configuration.policyResourcesDirectory = directory?.path
        configuration.languageCatalogFile = catalog
        tweak(&configuration)
        return engineError {
            try Engine(configuration: configuration, sandbox: TestSupport.sandbox, history: InMemoryHistoryStore())
        }
    }

    @Test func theShippedDataStarts() throws {
        #expect(start() == nil)
        let copy = try EngineFixtures.policyResourcesCopy()
        defer { try? FileManager.default.removeItem(at: copy) }
        #expect(start(policy: copy) == nil, "an intact copy of the policy data starts")
    }

    @Test func aBrokenRulesFileStopsTheStartNamingIt() throws {
        let copy = try EngineFixtures.policyResourcesCopy()
        defer { try? FileManager.default.removeItem(at: copy) }
        let python = copy.appendingPathComponent("rules/python.json")
        try Data("{\"language\": \"python\", \"rules\": [".utf8).write(to: python)
        let error = try #require(start(policy: copy))
        #expect(error.code == .internalError)
        #expect(error.message.contains(python.path), "names the file: \(error.message)")
        #expect(error.message.contains("is not valid"), "says why: \(error.message)")
    }

    @Test func aBadPatternStopsTheStart() throws {
        let copy = try EngineFixtures.policyResourcesCopy()
        defer { try? FileManager.default.removeItem(at: copy) }
        let bash = copy.appendingPathComponent("rules/bash.json")
        var text = try String(contentsOf: bash, encoding: .utf8)
        text = text.replacingOccurrences(of: #""pattern": ""#, with: #""pattern": "(unclosed"#, options: [], range: text.range(of: #""pattern": ""#))
        try text.write(to: bash, atomically: true, encoding: .utf8)
        let error = try #require(start(policy: copy))
        #expect(error.message.contains("rules"), "\(error.message)")
    }

    @Test func missingRulesStopTheStart() throws {
        let copy = try EngineFixtures.policyResourcesCopy()
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.removeItem(at: copy.appendingPathComponent("rules"))
        let error = try #require(start(policy: copy))
        #expect(error.message.contains(copy.appendingPathComponent("rules").path), "\(error.message)")
        let empty = try EngineFixtures.policyResourcesCopy()
        defer { try? FileManager.default.removeItem(at: empty) }
        for name in try FileManager.default.contentsOfDirectory(atPath: empty.appendingPathComponent("rules").path) {
            try FileManager.default.removeItem(at: empty.appendingPathComponent("rules/\(name)"))
        }
        #expect(start(policy: empty)?.message.contains("holds no rule set") == true)
    }

    @Test func brokenProfilesStopTheStartNamingTheFile() throws {
        let copy = try EngineFixtures.policyResourcesCopy()
        defer { try? FileManager.default.removeItem(at: copy) }
        let profiles = copy.appendingPathComponent("profiles.json")
        try FileManager.default.removeItem(at: profiles)
        let missing = try #require(start(policy: copy))
        #expect(missing.message.contains(profiles.path), "\(missing.message)")
        try Data("{\"profiles\": [{\"name\": 7}]}".utf8).write(to: profiles)
        let invalid = try #require(start(policy: copy))
        #expect(invalid.message.contains(profiles.path) && invalid.message.contains("is not valid"), "\(invalid.message)")
        try Data("{\"profiles\": [{\"name\": \"greedy\", \"max_cpu_percent\": 1e9}]}".utf8).write(to: profiles)
        let greedy = try #require(start(policy: copy))
        #expect(greedy.message.contains("greedy") && greedy.message.contains("cpu_percent"), "names the profile and the field: \(greedy.message)")
    }

    @Test func aBrokenCatalogStopsTheStartNamingIt() throws {
        let missing = try #require(start(catalog: "/nonexistent/languages.json"))
        #expect(missing.message.contains("/nonexistent/languages.json"), "\(missing.message)")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("corral-catalog-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data("{\"languages\": []}".utf8).write(to: file)
        #expect(start(catalog: file.path)?.message.contains("lists no language") == true)
        // A runtime handed over with an empty catalog (a load that failed into `.shipped`'s fallback).
        let empty = Runtime(sandbox: TestSupport.sandbox, catalog: LanguageCatalog(languages: []))
        let error = engineError {
            try Engine(configuration: EngineFixtures.configuration(), runtime: empty, history: InMemoryHistoryStore())
        }
        #expect(error?.message.contains("catalog is empty") == true)
    }

    @Test func configuredProfilesJoinTheLoadedOnes() throws {
        var configuration = EngineFixtures.configuration()
        configuration.profiles["ci"] = Profile(name: "ci", description: "", limits: ResourceLimits(), maxCPUPercent: 25,
                                               allowNetwork: false, allowFilesystem: false, policy: .init(mode: .strict))
        let engine = try EngineFixtures.engine(configuration)
        #expect(Set(engine.configuration.profiles.keys) == ["ci", "development", "production", "testing"])
        #expect(engine.configuration.profiles["ci"]?.limits.cpuPercent == 25)
    }
}
