import Foundation

/// The data files shipped in the target's `Resources` directory.
enum PolicyResources {
    /// `Resources/`, or the directory named by `CORRAL_POLICY_RESOURCES` (to try rule changes without a rebuild).
    static func directory() throws(PolicyError) -> URL {
        if let path = ProcessInfo.processInfo.environment["CORRAL_POLICY_RESOURCES"] {
            return URL(fileURLWithPath: path, isDirectory: true)
        }
        guard let url = Bundle.module.url(forResource: "Resources", withExtension: nil) else {
            throw PolicyError(message: "Corral's policy resources are missing from its bundle")
        }
        return url
    }

    static func data(_ name: String) throws(PolicyError) -> Data {
        let url = try directory().appendingPathComponent(name)
        do { return try Data(contentsOf: url) } catch {
            throw PolicyError(message: "cannot read \(url.path): \(error.localizedDescription)")
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from name: String) throws(PolicyError) -> T {
        let data = try data(name)
        do { return try JSONDecoder().decode(T.self, from: data) } catch {
            throw PolicyError(message: "\(name) is not valid: \(error)")
        }
    }
}

/// A problem with Corral's own policy data (rules, profiles), with the file it comes from.
public struct PolicyError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
