import ArgumentParser
import CorralRuntimes
import Foundation

extension Corral {
    /// `corral languages`: the catalog, with what is installed.
    struct Languages: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the languages Corral can run.")

        @Flag(help: "Print the list as JSON.")
        var json = false

        func run() async throws {
            let catalog: LanguageCatalog
            do { catalog = try LanguageCatalog.load() } catch { throw CLIFailure.corralFailed("\(error)") }
            let infos = await LanguageProbe.probeAll(catalog)
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
