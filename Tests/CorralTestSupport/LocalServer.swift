import Foundation
import Glibc

/// A real server (Debian's nats-server, redis-server, PostgreSQL) started by a test on a free
/// loopback port and stopped at its end: the fleet's tests talk to the real thing, never a mock.
public final class LocalServer: @unchecked Sendable {
    public let name: String
    public let port: Int
    public let arguments: [String]
    public let directory: String
    /// What `stop` sends first (PostgreSQL's fast shutdown is SIGINT; SIGTERM waits for its clients).
    public var stopSignal = SIGTERM
    private let lock = NSLock()
    private var process: Process?
    private var log: FileHandle?

    /// A port the kernel says is free now (bound to 127.0.0.1:0 and released).
    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        return bound ? Int(UInt16(bigEndian: address.sin_port)) : 0
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    public static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// `arguments[0]` is the program; `{port}` and `{dir}` in the arguments are replaced.
    public init(name: String, port: Int = LocalServer.freePort(), arguments: [String]) {
        let directory = NSTemporaryDirectory() + "corral-\(name)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.name = name
        self.port = port
        self.directory = directory
        self.arguments = arguments.map { $0.replacingOccurrences(of: "{port}", with: String(port)).replacingOccurrences(of: "{dir}", with: directory) }
    }

    /// Starts it and waits (up to `timeout` s) until its port accepts connections.
    public func start(timeout: Double = 15) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: arguments[0])
        p.arguments = Array(arguments.dropFirst())
        FileManager.default.createFile(atPath: directory + "/server.log", contents: nil)
        let log = FileHandle(forWritingAtPath: directory + "/server.log")
        p.standardOutput = log
        p.standardError = log
        p.standardInput = FileHandle.nullDevice
        try p.run()
        lock.withLock { process = p; self.log = log }
        let deadline = Date().addingTimeInterval(timeout)
        while !LocalServer.accepts(port) {
            guard p.isRunning, Date() < deadline else {
                stop()
                throw LocalServerError(message: "\(name) did not start on port \(port): \(logTail)")
            }
            usleep(20_000)
        }
    }

    /// SIGTERM (SIGKILL with `kill`), then waits for the process to end.
    public func stop(kill: Bool = false) {
        let p = lock.withLock { () -> Process? in defer { process = nil }; return process }
        guard let p else { return }
        if p.isRunning { Glibc.kill(p.processIdentifier, kill ? SIGKILL : stopSignal) }
        let deadline = Date().addingTimeInterval(10)
        while !Self.exited(p) && Date() < deadline { usleep(10_000) }
        if !Self.exited(p) {
            print("LocalServer: \(name) did not stop within 10 s of signal \(kill ? SIGKILL : stopSignal); killing it")
            Glibc.kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
        lock.withLock { try? log?.close(); log = nil }
    }

    /// Whether the process has ended: reaped, or a zombie waiting to be (Foundation's `isRunning`
    /// can lag behind under load).
    static func exited(_ p: Process) -> Bool {
        if !p.isRunning { return true }
        let pid = p.processIdentifier
        if Glibc.kill(pid, 0) != 0 && errno == ESRCH { return true }
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        guard let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    public var isRunning: Bool { lock.withLock { process?.isRunning ?? false } }

    /// The server's process id while it runs.
    public var pid: Int32? { lock.withLock { process.map(\.processIdentifier) } }

    /// The end of what the server wrote, for failure messages.
    public var logTail: String {
        let text = (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
        return String(text.suffix(1500))
    }

    /// Stops it and removes its directory.
    public func remove() {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { stop() }
}

public struct LocalServerError: Error, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

extension LocalServer {
    /// Debian's nats-server on a free port; `auth` adds `--user/--pass` or `--auth TOKEN`.
    public static func nats(user: String? = nil, password: String? = nil, token: String? = nil, port: Int = LocalServer.freePort()) -> LocalServer {
        var arguments = ["/usr/sbin/nats-server", "-a", "127.0.0.1", "-p", "{port}"]
        if let user, let password { arguments += ["--user", user, "--pass", password] }
        if let token { arguments += ["--auth", token] }
        return LocalServer(name: "nats", port: port, arguments: arguments)
    }

    /// Debian's redis-server on a free port, no persistence.
    public static func redis(port: Int = LocalServer.freePort()) -> LocalServer {
        let server = LocalServer(name: "redis", port: port, arguments: [
            "/usr/bin/redis-server", "--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", "{dir}", "--protected-mode", "yes"])
        // It keeps nothing (no RDB, no AOF), and under the test runner it did not act on SIGTERM
        // within 10 s (the runner's signal handling is inherited): stopping it is killing it.
        server.stopSignal = SIGKILL
        return server
    }

    /// Debian's PostgreSQL on a free port, in a new cluster of the test's own (initdb), run as the
    /// `postgres` user (the server refuses root), killed if the test process dies. The user
    /// `corral` logs in with a password over TCP (SCRAM, as production does).
    public static func postgres(port: Int = LocalServer.freePort()) throws -> LocalServer {
        guard let bin = postgresBinDirectory else { throw LocalServerError(message: "PostgreSQL is not installed (scripts/bootstrap installs it)") }
        let asPostgres = ["/usr/bin/setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--pdeathsig=SIGKILL"]
        let server = LocalServer(name: "postgres", port: port, arguments: asPostgres + [
            bin + "/postgres", "-D", "{dir}/data", "-p", "{port}", "-k", "{dir}", "-c", "listen_addresses=127.0.0.1",
            "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=300"])
        server.stopSignal = SIGINT
        chown(server.directory, postgresUID, postgresGID)
        chmod(server.directory, 0o700)
        FileManager.default.createFile(atPath: server.directory + "/pw", contents: Data(postgresPassword.utf8))
        chown(server.directory + "/pw", postgresUID, postgresGID)
        let initdb = Process()
        initdb.executableURL = URL(fileURLWithPath: asPostgres[0])
        initdb.arguments = Array(asPostgres.dropFirst()) + [bin + "/initdb", "-D", server.directory + "/data", "-U", "corral",
                                                            "--auth-host=scram-sha-256", "--auth-local=trust", "--pwfile=" + server.directory + "/pw",
                                                            "-E", "UTF8", "--no-sync", "--no-instructions"]
        let out = Pipe()
        initdb.standardOutput = out
        initdb.standardError = out
        try initdb.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        initdb.waitUntilExit()
        guard initdb.terminationStatus == 0 else { throw LocalServerError(message: "initdb failed: \(text.suffix(1500))") }
        return server
    }

    public static let postgresPassword = "corral-test"

    /// The URL of database `database` of a server made by `postgres()`.
    public func postgresURL(database: String = "postgres") -> String {
        "postgresql://corral:\(LocalServer.postgresPassword)@127.0.0.1:\(port)/\(database)?sslmode=disable"
    }

    /// Runs SQL with psql as `corral` (CREATE DATABASE, checks), returning psql's output.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        p.arguments = ["-h", "127.0.0.1", "-p", String(port), "-U", "corral", "-d", database, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql]
        p.environment = ["PGPASSWORD": LocalServer.postgresPassword, "PATH": "/usr/bin:/bin"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw LocalServerError(message: "psql '\(sql.prefix(200))' failed: \(text)") }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static var postgresBinDirectory: String? {
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []).sorted()
        return versions.last.map { "/usr/lib/postgresql/\($0)/bin" }.flatMap { FileManager.default.isExecutableFile(atPath: $0 + "/postgres") ? $0 : nil }
    }
    static var postgresUID: uid_t { getpwnam("postgres")?.pointee.pw_uid ?? 0 }
    static var postgresGID: gid_t { getpwnam("postgres")?.pointee.pw_gid ?? 0 }
    public static var postgresInstalled: Bool { postgresBinDirectory != nil && getpwnam("postgres") != nil }

    public static var natsServerInstalled: Bool { FileManager.default.isExecutableFile(atPath: "/usr/sbin/nats-server") }
    public static var redisServerInstalled: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-server") }
}
