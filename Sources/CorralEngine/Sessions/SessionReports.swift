import Foundation

extension JSONValue: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .number(let d): if d.isFinite { try c.encode(d) } else { try c.encodeNil() }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// A value from `JSONSerialization` (hostile input: anything unexpected becomes null).
    init(foundation value: Any?) {
        switch value {
        case let n as NSNumber:
            // Foundation on Linux marks JSON's true and false with the Objective-C type "c".
            if String(cString: n.objCType) == "c" { self = .bool(n.boolValue); return }
            let d = n.doubleValue
            if let i = Int(exactly: d), abs(d) < 9e15 { self = .int(i) } else { self = .number(d) }
        case let s as String: self = .string(s)
        case let a as [Any]: self = .array(a.map { JSONValue(foundation: $0) })
        case let o as [String: Any]: self = .object(o.mapValues { JSONValue(foundation: $0) })
        default: self = .null
        }
    }
}

/// A session as `GET /v1/sessions/{id}` shows it.
public struct SessionInfo: Sendable, Encodable {
    public var sessionID: String
    /// `running`, or `ended` (its jail died: `end_reason` says why).
    public var status: String
    public var language: String
    public var createdAt: String
    public var expiresAt: String
    public var timeoutSeconds: Double
    public var allowNetwork: Bool
    public var limits: Limits
    public var mount: CreateSessionRequest.Mount?
    public var metadata: [String: String]
    public var memoryUsedMb: Double?
    public var endReason: String?
    /// Its display, when it was created with one.
    public var desktop: DesktopInfo?

    public struct Limits: Sendable, Encodable {
        public var maxMemoryMb: Int
        public var processes: Int
        public var cpuPercent: Int
        public var diskMb: Int
        enum CodingKeys: String, CodingKey, CaseIterable {
            case processes
            case maxMemoryMb = "max_memory_mb"
            case cpuPercent = "cpu_percent"
            case diskMb = "disk_mb"
        }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case status, language, limits, mount, metadata
        case sessionID = "session_id"
        case createdAt = "created_at"
        case expiresAt = "expires_at"
        case timeoutSeconds = "timeout_seconds"
        case allowNetwork = "allow_network"
        case memoryUsedMb = "memory_used_mb"
        case endReason = "end_reason"
        case desktop
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(sessionID, forKey: .sessionID)
        try c.encode(status, forKey: .status)
        try c.encode(language, forKey: .language)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(expiresAt, forKey: .expiresAt)
        try c.encode(timeoutSeconds, forKey: .timeoutSeconds)
        try c.encode(allowNetwork, forKey: .allowNetwork)
        try c.encode(limits, forKey: .limits)
        try c.encode(mount, forKey: .mount)
        try c.encode(metadata, forKey: .metadata)
        try c.encode(memoryUsedMb, forKey: .memoryUsedMb)
        try c.encode(endReason, forKey: .endReason)
        try c.encode(desktop, forKey: .desktop)
    }
}

public struct SessionList: Sendable, Encodable {
    public var sessions: [SessionInfo]
}

/// A background command's handle.
public struct ProcessStarted: Sendable, Encodable {
    public var processID: Int
    enum CodingKeys: String, CodingKey, CaseIterable { case processID = "process_id" }
}

/// A process a session started (`GET .../processes/{pid}`; output only there).
public struct SessionProcess: Sendable, Encodable {
    public var processID: Int
    public var command: [String]
    public var cwd: String
    /// `running` or `exited`.
    public var status: String
    public var exitCode: Int?
    public var signal: Int?
    public var background: Bool
    public var pty: Bool
    public var startedAt: Double
    public var endedAt: Double?
    public var stdout: String?
    public var stderr: String?
    public var outputTruncated: Bool?
    public var timedOut: Bool?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case command, cwd, status, signal, background, pty, stdout, stderr
        case processID = "process_id"
        case exitCode = "exit_code"
        case startedAt = "started_at"
        case endedAt = "ended_at"
        case outputTruncated = "output_truncated"
        case timedOut = "timed_out"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(processID, forKey: .processID)
        try c.encode(command, forKey: .command)
        try c.encode(cwd, forKey: .cwd)
        try c.encode(status, forKey: .status)
        try c.encode(exitCode, forKey: .exitCode)
        try c.encode(signal, forKey: .signal)
        try c.encode(background, forKey: .background)
        try c.encode(pty, forKey: .pty)
        try c.encode(startedAt, forKey: .startedAt)
        try c.encode(endedAt, forKey: .endedAt)
        try c.encodeIfPresent(stdout, forKey: .stdout)
        try c.encodeIfPresent(stderr, forKey: .stderr)
        try c.encodeIfPresent(outputTruncated, forKey: .outputTruncated)
        try c.encodeIfPresent(timedOut, forKey: .timedOut)
    }
}

public struct ProcessList: Sendable, Encodable {
    public var processes: [SessionProcess]
}

public struct ContextInfo: Sendable, Encodable {
    public var contextID: String
    public var language: String
    enum CodingKeys: String, CodingKey, CaseIterable { case language; case contextID = "context_id" }
}

public struct ContextList: Sendable, Encodable {
    public var contexts: [ContextInfo]
}

/// What one `run_code` cell did, as E2B's code interpreter reports it.
public struct RunCodeResult: Sendable, Encodable {
    public var contextID: String
    public var stdout: String
    public var stderr: String
    /// The value of the last expression, when there is one (and it is not None/undefined).
    public var result: Value?
    public var error: CellError?
    public var executionTimeMs: Double

    public struct Value: Sendable, Encodable {
        public var text: String
        public var json: JSONValue?
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(text, forKey: .text)
            try c.encode(json ?? .null, forKey: .json)
        }
        enum CodingKeys: String, CodingKey, CaseIterable { case text, json }
    }

    public struct CellError: Sendable, Encodable {
        public var name: String
        public var value: String
        public var traceback: String
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case stdout, stderr, result, error
        case contextID = "context_id"
        case executionTimeMs = "execution_time_ms"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(contextID, forKey: .contextID)
        try c.encode(stdout, forKey: .stdout)
        try c.encode(stderr, forKey: .stderr)
        try c.encode(result, forKey: .result)
        try c.encode(error, forKey: .error)
        try c.encode(executionTimeMs, forKey: .executionTimeMs)
    }
}

/// A directory listing of the files API.
public struct FileListing: Sendable, Encodable {
    public var path: String
    public var entries: [FileEntry]
}

public struct FileEntry: Sendable, Encodable {
    public var name: String
    public var path: String
    /// `file`, `directory`, `symlink` or `other`.
    public var type: String
    public var size: Int64
    /// Permission bits, octal text (`"644"`).
    public var mode: String
    public var modifiedAt: Double
    public var target: String?
    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, path, type, size, mode, target
        case modifiedAt = "modified_at"
    }
}

/// What a shadow session changed (`GET .../changes`) or wrote back (`POST .../apply`).
public struct ChangesReport: Sendable, Encodable {
    public var changes: [Change]
    public struct Change: Sendable, Encodable {
        public var path: String
        /// `added`, `modified` or `deleted`.
        public var kind: String
        public var type: String
    }
}

/// A session's unified diff.
public struct DiffReport: Sendable, Encodable {
    public var diff: String
    /// Binary files named, not dumped.
    public var binaryFiles: [String]
    enum CodingKeys: String, CodingKey, CaseIterable { case diff; case binaryFiles = "binary_files" }
}

/// What an uploaded archive put in the workspace.
public struct UnpackReport: Sendable, Encodable {
    public var files: Int
    public var bytes: Int
}
