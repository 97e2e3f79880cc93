import CorralPolicy
import CorralSandbox
import Foundation
import Testing

/// Seed 003's profiles, loaded from `profiles.json`.
struct ProfileTests {
    @Test func shippedProfilesMatchSeed003() throws {
        let catalog = try ProfileCatalog.load()
        #expect(catalog.names == ["development", "testing", "production"])
        let development = try #require(catalog.profile(named: "Development"))
        #expect(development.limits.timeoutSeconds == 60)
        #expect(development.limits.memoryMB == 1024)
        #expect(development.maxCPUPercent == 90)
        #expect(development.allowNetwork && development.allowFilesystem)
        #expect(development.policy.mode == .warn)
        let testing = try #require(catalog.profile(named: "testing"))
        #expect(testing.limits.timeoutSeconds == 10 && testing.limits.memoryMB == 256)
        #expect(!testing.allowNetwork && !testing.allowFilesystem)
        let production = try #require(catalog.profile(named: "production"))
        #expect(production.limits.timeoutSeconds == 30 && production.limits.memoryMB == 512)
        #expect(production.policy.mode == .strict)
        #expect(production.limits.processes == ResourceLimits().processes) // unspecified limits keep the defaults
    }

    @Test func everyProfileIsWithinTheMaximums() throws {
        for profile in try ProfileCatalog.load().profiles {
            #expect(throws: Never.self) { try profile.limits.validate() }
        }
    }

    @Test func profilesEncodeWithSnakeCaseLimits() throws {
        let production = try #require(try ProfileCatalog.load().profile(named: "production"))
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(production)) as? [String: Any]
        let limits = object?["limits"] as? [String: Any]
        #expect(limits?["timeout_seconds"] as? Double == 30)
        #expect(limits?["max_memory_mb"] as? Int == 512)
        #expect(object?["allow_network"] as? Bool == false)
        #expect((object?["policy"] as? [String: Any])?["mode"] as? String == "strict")
        let decoded = try JSONDecoder().decode(Profile.self, from: JSONEncoder().encode(production))
        #expect(decoded == production)
    }

    @Test func profileImpliesValidationOptions() throws {
        let development = try #require(try ProfileCatalog.load().profile(named: "development"))
        let options = development.validationOptions
        #expect(options.allowNetwork && options.allowFilesystem)
        #expect(options.threshold == .high)
        #expect(options.authorizedImports == nil)
    }
}
