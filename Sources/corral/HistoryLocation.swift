import ArgumentParser
import CorralStore
import Foundation

/// Where a command's history lives: `--data-dir` / `--history` for `corral run`, the service's
/// database for `corral history` and `corral stats`.
struct HistoryOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Record the run in DIR/history.sqlite (the service's data directory).")
    var dataDirectory: String?
    @Option(name: .customLong("history"), help: "History store: memory (default: the run is not kept) or sqlite.")
    var backend: String?

    /// In memory unless `--data-dir` or `--history sqlite` asks for the SQLite database.
    func store() throws -> any HistoryStore {
        switch backend ?? (dataDirectory == nil ? "memory" : "sqlite") {
        case "memory": return InMemoryHistoryStore()
        case "sqlite": return try HistoryLocation.open(dataDirectory, create: true)
        case let other: throw CLIFailure.usage("--history '\(other)' is not a history store: use memory or sqlite")
        }
    }
}

enum HistoryLocation {
    /// The data directory: `--data-dir`, else `CORRAL_DATA_DIR`, else the service's default.
    static func directory(_ flag: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        flag ?? environment["CORRAL_DATA_DIR"] ?? ServeSettings.defaultDataDirectory
    }

    /// The SQLite history of the data directory. Without `create`, a missing database is an error
    /// that says how to get one (reading commands must not leave an empty database behind).
    static func open(_ dataDirectory: String?, create: Bool) throws -> any HistoryStore {
        let path = directory(dataDirectory) + "/history.sqlite"
        guard create || FileManager.default.fileExists(atPath: path) else {
            throw CLIFailure.usage("no history at \(path): start 'corral serve' first or give --data-dir")
        }
        do { return try SQLiteHistoryStore(path: path) } catch { throw CLIFailure.corralFailed("cannot open \(path): \(error)") }
    }
}
