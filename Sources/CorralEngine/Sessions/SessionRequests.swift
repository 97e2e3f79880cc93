/// `POST /v1/sessions`.
public struct CreateSessionRequest: Sendable, Codable, KnownFields {
    public var language: String?
    public var maxMemoryMb: Int?
    public var processes: Int?
    public var cpuPercent: Int?
    public var diskMb: Int?
    /// Idle time-to-live in seconds: the session ends this long after its last call.
    public var timeoutSeconds: Double?
    public var allowNetwork: Bool?
    public var environmentVars: [String: String]?
    /// Initial files: path in the workspace → UTF-8 text.
    public var files: [String: String]?
    public var mount: Mount?
    public var metadata: [String: String]?
    /// A virtual display in the session (docs/desktop.md).
    public var desktop: DesktopSettings?

    public struct Mount: Sendable, Codable, Equatable {
        public var hostPath: String
        /// `shadow` (copy-on-write; see changes, diff, apply) or `readonly`.
        public var mode: String
        enum CodingKeys: String, CodingKey { case mode; case hostPath = "host_path" }
        public init(hostPath: String, mode: String) { self.hostPath = hostPath; self.mode = mode }
    }

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case language, processes, files, mount, metadata, desktop
        case maxMemoryMb = "max_memory_mb"
        case cpuPercent = "cpu_percent"
        case diskMb = "disk_mb"
        case timeoutSeconds = "timeout_seconds"
        case allowNetwork = "allow_network"
        case environmentVars = "environment_vars"
    }
    public static let fieldNames = Set(CodingKeys.allCases.map(\.rawValue))
    public static var wholeNumberFields: Set<String> { ["max_memory_mb", "processes", "cpu_percent", "disk_mb"] }
    public static var objectTypes: [String: any KnownFields.Type] { ["desktop": DesktopSettings.self] }
}

/// `POST /v1/sessions/{id}/exec`: a command (run by `/bin/bash -c`) or code in a language.
public struct SessionExecRequest: Sendable, Codable, KnownFields {
    public var command: String?
    public var code: String?
    public var language: String?
    public var cwd: String?
    public var env: [String: String]?
    public var stdin: String?
    public var timeoutSeconds: Double?
    public var background: Bool?
    public var pty: PTY?
    public var maxOutputSize: Int?

    public struct PTY: Sendable, Codable, Equatable {
        public var cols: Int?
        public var rows: Int?
    }

    public init(command: String) { self.command = command }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case command, code, language, cwd, env, stdin, background, pty
        case timeoutSeconds = "timeout_seconds"
        case maxOutputSize = "max_output_size"
    }
    public static let fieldNames = Set(CodingKeys.allCases.map(\.rawValue))
    public static var wholeNumberFields: Set<String> { ["max_output_size"] }
}

/// `POST /v1/sessions/{id}/run_code`.
public struct RunCodeRequest: Sendable, Codable, KnownFields {
    public var code: String
    public var contextID: String?
    /// Used when no context is named: the session's default context of this language.
    public var language: String?
    public var timeoutSeconds: Double?

    public init(code: String, contextID: String? = nil) { self.code = code; self.contextID = contextID }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case code, language
        case contextID = "context_id"
        case timeoutSeconds = "timeout_seconds"
    }
    public static let fieldNames = Set(CodingKeys.allCases.map(\.rawValue))
}

/// `POST /v1/sessions/{id}/contexts`.
public struct CreateContextRequest: Sendable, Codable, KnownFields {
    public var language: String?
    public var cwd: String?
    public init(language: String? = nil) { self.language = language }
    enum CodingKeys: String, CodingKey, CaseIterable { case language, cwd }
    public static let fieldNames = Set(CodingKeys.allCases.map(\.rawValue))
}

/// `POST /v1/sessions/{id}/timeout`.
public struct SessionTimeoutRequest: Sendable, Codable, KnownFields {
    public var timeoutSeconds: Double
    enum CodingKeys: String, CodingKey, CaseIterable { case timeoutSeconds = "timeout_seconds" }
    public static let fieldNames = Set(CodingKeys.allCases.map(\.rawValue))
}

/// `POST .../processes/{pid}/stdin`.
public struct ProcessStdinRequest: Sendable, Codable, KnownFields {
    public var data: String
    public var eof: Bool?
    public init(data: String, eof: Bool? = nil) { self.data = data; self.eof = eof }
    enum CodingKeys: String, CodingKey, CaseIterable { case data, eof }
    public static let fieldNames = Set(CodingKeys.allCases.map(\.rawValue))
}

/// `POST .../processes/{pid}/signal`: a number (1-64) or a name (`SIGTERM` or `TERM`, upper case).
public struct ProcessSignalRequest: Sendable, Codable, KnownFields {
    public var number: Int?
    public var name: String?
    enum CodingKeys: String, CodingKey, CaseIterable { case signal }
    public static let fieldNames = Set(CodingKeys.allCases.map(\.rawValue))

    public init(number: Int?, name: String?) { self.number = number; self.name = name }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let n = try? c.decode(Int.self, forKey: .signal) { number = n } else { name = try c.decode(String.self, forKey: .signal) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if let number { try c.encode(number, forKey: .signal) } else { try c.encode(name, forKey: .signal) }
    }

    /// Signals by name, as `kill -l` lists them (without and with `SIG`).
    public static let names: [String: Int] = ["HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "BUS": 7, "FPE": 8,
        "KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15, "CHLD": 17, "CONT": 18, "STOP": 19,
        "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23, "XCPU": 24, "XFSZ": 25, "VTALRM": 26, "PROF": 27, "WINCH": 28]
    public static let allNames: [String] = names.keys.sorted() + names.keys.sorted().map { "SIG" + $0 }

    /// The signal's number, nil when it names none.
    public var signal: Int? {
        if let number { return (1...64).contains(number) ? number : nil }
        guard let name else { return nil }
        return Self.names[name.hasPrefix("SIG") ? String(name.dropFirst(3)) : name]
    }
}

/// `POST .../processes/{pid}/resize`.
public struct ProcessResizeRequest: Sendable, Codable, KnownFields {
    public var cols: Int
    public var rows: Int
    public init(cols: Int, rows: Int) { self.cols = cols; self.rows = rows }
    enum CodingKeys: String, CodingKey, CaseIterable { case cols, rows }
    public static let fieldNames = Set(CodingKeys.allCases.map(\.rawValue))
    public static var wholeNumberFields: Set<String> { ["cols", "rows"] }
}

/// `POST /v1/sessions/{id}/files/move`.
public struct FileMoveRequest: Sendable, Codable, KnownFields {
    public var from: String
    public var to: String
    enum CodingKeys: String, CodingKey, CaseIterable { case from, to }
    public static let fieldNames = Set(CodingKeys.allCases.map(\.rawValue))
}

/// `POST /v1/sessions/{id}/apply`.
public struct ApplyRequest: Sendable, Codable, KnownFields {
    /// Paths to write back (a directory takes what is under it); all changes when absent.
    public var paths: [String]?
    public var force: Bool?
    enum CodingKeys: String, CodingKey, CaseIterable { case paths, force }
    public static let fieldNames = Set(CodingKeys.allCases.map(\.rawValue))
    public init(paths: [String]? = nil, force: Bool? = nil) { self.paths = paths; self.force = force }
}
