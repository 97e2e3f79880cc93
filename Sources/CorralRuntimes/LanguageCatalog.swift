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
        let languages: [Language]
        do {
            languages = try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).languages
        } catch {
            throw CatalogError(message: "cannot read the language catalog \(url.path): \(error)")
        }
        try checkWarmEntries(languages, in: url.path)
        return LanguageCatalog(languages: languages)
    }

    /// A `warm` entry must name a known bootstrap and place it, and only an interpreted language
    /// may have one: a typo would otherwise leave every run of the language cold without a word.
    static func checkWarmEntries(_ languages: [Language], in path: String) throws {
        for language in languages {
            guard let warm = language.warm else { continue }
            let known = ["python", "node", "exec"]
            guard WarmBootstrap.source(named: warm.bootstrap) != nil else {
                throw CatalogError(message: "\(path): \(language.name): warm bootstrap '\(warm.bootstrap)' is not one of \(known.joined(separator: ", "))")
            }
            guard warm.run.contains("{bootstrap}") else {
                throw CatalogError(message: "\(path): \(language.name): the warm command must pass the bootstrap as {bootstrap}")
            }
            guard !language.isCompiled else {
                throw CatalogError(message: "\(path): \(language.name): a compiled language cannot have a warm entry (its run reads /out)")
            }
            guard warm.execsRunCommand || language.run.contains(where: { $0.contains("{source}") }) else {
                throw CatalogError(message: "\(path): \(language.name): a '\(warm.bootstrap)' bootstrap runs the main file, so `run` must name it with {source}")
            }
            if let fork = warm.fork {
                guard warm.bootstrap == "python" else {
                    throw CatalogError(message: "\(path): \(language.name): only the python bootstrap has a fork-server (its zygote forks a Python interpreter)")
                }
                // A preload is imported by name in the zygote: a dotted module name, nothing else.
                for module in fork.preload where module.isEmpty || !module.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }) {
                    throw CatalogError(message: "\(path): \(language.name): fork preload '\(module)' is not a module name")
                }
            }
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
