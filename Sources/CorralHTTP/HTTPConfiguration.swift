/// How `corral serve` listens. Defaults are safe: loopback only, no keys needed there.
public struct HTTPConfiguration: Sendable {
    /// Address to bind. Anything but loopback requires API keys.
    public var host = "127.0.0.1"
    public var port = 8080
    /// Key name → key. Empty: no authentication (allowed on loopback only).
    public var apiKeys: [String: String] = [:]
    /// Largest request body, in bytes (the engine also caps `code` itself).
    public var maxBodyBytes = 2 << 20
    /// Largest number of programs in one batch.
    public var maxBatchSize = 64

    /// Largest batch body: four single bodies (saturating, so a huge `maxBodyBytes` cannot overflow).
    public var maxBatchBodyBytes: Int {
        let (product, overflow) = maxBodyBytes.multipliedReportingOverflow(by: 4)
        return overflow ? Int.max : product
    }

    /// Where noVNC's page files are (Debian's `novnc`), served at `/v1/sessions/{id}/desktop/novnc/`.
    public var novncDirectory = "/usr/share/novnc"
    /// How long a session's Jupyter has to answer one proxied HTTP request, whole (its REST calls
    /// take milliseconds; long work runs over a kernel's WebSocket). Past it: 500 saying so.
    public var jupyterAnswerSeconds = 120
    public init() {}

    public var isLoopback: Bool { ["127.0.0.1", "::1", "localhost"].contains(host) }

    /// Refuses configurations that would expose the service unauthenticated.
    public func validate() throws(ConfigurationError) {
        if !isLoopback && apiKeys.isEmpty {
            throw ConfigurationError("binding \(host) exposes the service beyond this machine: give API keys with --api-key or CORRAL_API_KEYS")
        }
        if !(0...65535).contains(port) { throw ConfigurationError("port \(port) is not a TCP port") }
        for (name, key) in apiKeys where key.count < 16 {
            throw ConfigurationError("API key '\(name)' is \(key.count) characters long; use at least 16 (e.g. openssl rand -hex 24)")
        }
    }
}

public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ message: String) { description = message }
}
