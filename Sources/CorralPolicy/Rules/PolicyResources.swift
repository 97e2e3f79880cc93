import Foundation

/// The policy data files (rule sets, analyzers, sensitive paths, profiles): the ones shipped in the
/// target's `Resources` directory, or those of a directory with the same layout. Which directory
/// is the caller's choice (the engine's configuration); this library never reads the environment.
enum PolicyResources {
    /// `directory`, or the shipped `Resources/` when it is nil.
    static func directory(_ directory: URL? = nil) throws(PolicyError) -> URL {
        if let directory { return directory }
        guard let url = Bundle.module.url(forResource: "Resources", withExtension: nil) else {
            throw PolicyError(message: "Corral's policy resources are missing from its bundle; reinstall Corral")
        }
        return url
    }

    /// The bytes of `name` (a path relative to the resources directory).
    static func data(_ name: String, in directory: URL? = nil) throws(PolicyError) -> Data {
        try read(try self.directory(directory).appendingPathComponent(name))
    }

    /// `name` decoded as a `T`; the error names the file's full path and what is wrong in it.
    static func decode<T: Decodable>(_ type: T.Type, from name: String, in directory: URL? = nil) throws(PolicyError) -> T {
        let url = try self.directory(directory).appendingPathComponent(name)
        let data = try read(url)
        do { return try JSONDecoder().decode(T.self, from: data) } catch {
            throw PolicyError(message: "\(url.path) is not valid: \(Self.reason(error)); fix the file or restore the shipped one")
        }
    }

    private static func read(_ url: URL) throws(PolicyError) -> Data {
        do { return try Data(contentsOf: url) } catch {
            throw PolicyError(message: "cannot read \(url.path): \(error.localizedDescription)")
        }
    }

    /// A decoding error in words: where in the file and what was expected.
    private static func reason(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ p: [any CodingKey]) -> String { p.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".") }
        switch error {
        case let .dataCorrupted(ctx):
            let underlying = (ctx.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return ctx.codingPath.isEmpty ? (underlying ?? ctx.debugDescription) : "at \(path(ctx.codingPath)): \(ctx.debugDescription)"
        case let .keyNotFound(key, ctx): return "missing field '\(path(ctx.codingPath + [key]))'"
        case let .typeMismatch(_, ctx), let .valueNotFound(_, ctx): return "at \(path(ctx.codingPath)): \(ctx.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

/// A problem with Corral's own policy data (rules, profiles), with the file it comes from.
public struct PolicyError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
