import ArgumentParser
import CorralRuntimes
import CorralEngine
import Foundation

extension Corral {
    /// `corral languages`: the catalog, with what is installed.
    struct Languages: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "languages", abstract: "List the languages Corral can run.")

        @Flag(help: "Print the list as JSON.")
        var json = false

        func run() async throws {
            // The catalog the engine loads (`CORRAL_LANGUAGES`, else the shipped one), without starting
            // an engine: listing languages needs no sandbox, rules or profiles.
            var configuration = EngineConfiguration.local
            configuration.applyResourceEnvironment(ProcessInfo.processInfo.environment)
            let catalog: LanguageCatalog
            do { catalog = try LanguageCatalog.load(path: configuration.languageCatalogFile) } catch {
                throw CLIFailure.corralFailed("cannot load the language catalog: \(error)")
            }
            // Versions probed by an earlier call are reused while the toolchain's files are unchanged.
            let cache = ToolchainVersionCache(directory: configuration.compileCacheDirectory ?? CompileCache.defaultRoot)
            let infos = await LanguageProbe.probeAll(catalog, cache: cache)
            if json {
                try printJSON(infos)
            } else {
                for info in infos {
                    let mark = info.available ? "ok  " : "--  "
                    let kind = info.compiled ? "compiled" : "interpreted"
                    let aliases = info.aliases.isEmpty ? "" : " (\(info.aliases.joined(separator: ", ")))"
                    StandardStream.output.line("\(mark)\(info.name)\(aliases), \(kind): \(info.version ?? info.reason ?? "")")
                }
            }
        }
    }
}
