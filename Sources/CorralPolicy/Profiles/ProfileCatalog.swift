import Foundation

/// The limit profiles, loaded from `Resources/profiles.json`.
public struct ProfileCatalog: Sendable, Codable, Hashable {
    public var profiles: [Profile]

    public init(profiles: [Profile]) { self.profiles = profiles }

    /// The shipped profiles (or those under `CORRAL_POLICY_RESOURCES`); every profile's limits are
    /// checked against `ResourceLimits.maximum`.
    public static func load() throws(PolicyError) -> ProfileCatalog {
        let catalog = try PolicyResources.decode(ProfileCatalog.self, from: "profiles.json")
        for profile in catalog.profiles {
            do { try profile.limits.validate() } catch {
                throw PolicyError(message: "profile \(profile.name) in profiles.json: \(error)")
            }
        }
        return catalog
    }

    /// The profile named `name` (case-insensitive).
    public func profile(named name: String) -> Profile? {
        profiles.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }
    }

    public var names: [String] { profiles.map(\.name) }
}
