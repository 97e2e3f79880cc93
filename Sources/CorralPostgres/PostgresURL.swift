import Foundation
import PostgresNIO

/// `postgresql://user[:password]@host[:port]/database[?sslmode=disable|prefer|require]` (also `postgres://`).
struct PostgresURL: Sendable {
    var host: String
    var port: Int
    var user: String
    var password: String?
    var database: String
    var sslMode: String

    init(_ url: String) throws(HistoryStoreError) {
        func bad(_ why: String) -> HistoryStoreError {
            HistoryStoreError(code: .cannotOpen, operation: "open", reason: "--postgres-url: \(why)",
                              hint: "give postgresql://USER:PASSWORD@HOST:PORT/DATABASE")
        }
        guard let c = URLComponents(string: url), let scheme = c.scheme?.lowercased(), scheme == "postgresql" || scheme == "postgres" else {
            throw bad("not a postgresql:// URL")
        }
        guard let host = c.host, !host.isEmpty else { throw bad("no host") }
        guard let user = c.user, !user.isEmpty else { throw bad("no user") }
        let database = c.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        guard !database.isEmpty else { throw bad("no database") }
        self.host = host
        port = c.port ?? 5432
        guard (1...65535).contains(port) else { throw bad("port \(port) is out of range") }
        self.user = user.removingPercentEncoding ?? user
        password = c.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database.removingPercentEncoding ?? database
        sslMode = c.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "prefer"
        guard ["disable", "prefer", "require"].contains(sslMode) else { throw bad("sslmode is disable, prefer or require, got '\(sslMode)'") }
    }

    /// Without the password, for logs and status.
    var redacted: String { "postgresql://\(user)@\(host):\(port)/\(database)" }

    func configuration(poolSize: Int, connectTimeout: Double) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS = switch sslMode {
        case "disable": .disable
        case "require": .require(.makeClientConfiguration())
        default: .prefer(.makeClientConfiguration())
        }
        var c = PostgresClient.Configuration(host: host, port: port, username: user, password: password, database: database, tls: tls)
        c.options.maximumConnections = poolSize
        c.options.minimumConnections = 0
        c.options.connectTimeout = .milliseconds(Int64(connectTimeout * 1000))
        return c
    }
}

import CorralStore
