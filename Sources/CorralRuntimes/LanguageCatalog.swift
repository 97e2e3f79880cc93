import Foundation

/// The languages Corral can run, loaded from the catalog data file.
public struct LanguageCatalog: Sendable {
    public let languages: [Language]

    public init(languages: [Language]) { self.languages = languages }

    /// The catalog shipped with Corral, or the one named by `CORRAL_LANGUAGES` (a JSON file).
    public static func load(path: String? = nil) throws -> LanguageCatalog {
        let url: URL
        if let path { url = URL(fileURLWithPath: path) } else {
            guard let bundled = Bundle.module.url(forResource: "languages", withExtension: "json") else {
                throw CatalogError(message: "the language catalog languages.json is missing from Corral's resources")
            }
            url = bundled
        }
        struct File: Decodable { var languages: [Language] }
        do {
            return LanguageCatalog(languages: try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).languages)
        } catch {
            throw CatalogError(message: "cannot read the language catalog \(url.path): \(error)")
        }
    }

    public static let shipped: LanguageCatalog = (try? load()) ?? LanguageCatalog(languages: [])

    /// The language named `name` or one of its aliases (case-insensitive).
    public func language(named name: String) -> Language? {
        let key = name.lowercased()
        return languages.first { $0.name == key || $0.aliases.contains(key) }
    }

    /// The language whose extensions include `path`'s.
    public func language(forFile path: String) -> Language? {
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return nil }
        let ext = path[path.index(after: dot)...].lowercased()
        return languages.first { $0.extensions.contains(ext) }
    }

    public var names: [String] { languages.map(\.name) }
}

public struct CatalogError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
