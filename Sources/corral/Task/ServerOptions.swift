import ArgumentParser
import CorralClient
import Foundation

/// Where a running `corral serve` is, for the commands that talk to one (`corral task …`).
struct ServerOptions: ParsableArguments {
    @Option(name: .customLong("server"), help: ArgumentHelp("The server's URL (default $CORRAL_URL, else http://127.0.0.1:8080).", valueName: "URL"))
    var url: String?
    @Option(name: .customLong("api-key"), help: ArgumentHelp("An API key of the server (default $CORRAL_API_KEY).", valueName: "KEY"))
    var apiKey: String?

    /// A connection to the server (blocking: use it on a thread of its own, see `ServerCall`).
    func connection(timeout: Double) throws -> HTTPConnection {
        let environment = ProcessInfo.processInfo.environment
        let text = url ?? environment["CORRAL_URL"] ?? "http://127.0.0.1:8080"
        guard let parsed = URLComponents(string: text), parsed.scheme == "http", let host = parsed.host, !host.isEmpty,
              parsed.path.isEmpty || parsed.path == "/", parsed.query == nil else {
            throw CLIFailure.usage("--server '\(text)' is not a server URL: give http://HOST:PORT (https is not supported; use a local proxy)")
        }
        let connection = HTTPConnection(host: host, port: parsed.port ?? 80, timeout: timeout)
        if let key = apiKey ?? environment["CORRAL_API_KEY"], !key.isEmpty { connection.headers.append(("Authorization", "Bearer \(key)")) }
        return connection
    }
}

/// One call to the server, on a thread of its own; failures become the CLI's one-line errors.
enum ServerCall {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }

    /// The JSON object of a response, or the server's error as a CLIFailure (4xx: the caller's, 64).
    static func object(_ response: HTTPConnection.Response, _ what: String) throws -> [String: Any] {
        let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
        guard (200..<300).contains(response.status), let object else {
            let message = ((object?["error"] as? [String: Any])?["message"] as? String) ?? response.text.prefix(300).description
            let failure = "\(what): the server answered \(response.status): \(message)"
            throw response.status >= 400 && response.status < 500 ? CLIFailure.usage(failure) : CLIFailure.corralFailed(failure)
        }
        return object
    }

    static func failed(_ error: HTTPConnection.Failure, _ connection: HTTPConnection) -> CLIFailure {
        CLIFailure.corralFailed("cannot reach the server at \(connection.host):\(connection.port): \(error) (is `corral serve` running? --server sets its URL)")
    }
}
