import Foundation

/// The limit profiles, loaded from `Resources/profiles.json`.
public struct ProfileCatalog: Sendable, Codable, Hashable {
    public var profiles: [Profile]

    public init(profiles: [Profile]) { self.profiles = profiles }

    /// The profiles of `directory`'s `profiles.json`, or the shipped ones when nil; every
    /// profile's limits are checked against `ResourceLimits.maximum`.
    public static func load(directory: URL? = nil) throws(PolicyError) -> ProfileCatalog {
        let catalog = try PolicyResources.decode(ProfileCatalog.self, from: "profiles.json", in: directory)
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
