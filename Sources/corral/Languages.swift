import ArgumentParser
import CorralRuntimes
import CorralStore
import Foundation

extension Corral {
    /// `corral languages`: the catalog, with what is installed.
    struct Languages: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the languages Corral can run.")

        @Flag(help: "Print the list as JSON.")
        var json = false

        func run() async throws {
            // The engine's catalog: the one `corral run` and the service run programs from.
            let local = try LocalEngine.start(history: InMemoryHistoryStore())
            let infos = await LanguageProbe.probeAll(local.engine.runtime.catalog)
            await local.stop()
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
