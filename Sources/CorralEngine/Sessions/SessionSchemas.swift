/// Patterns of the session API's strings: exactly what the engine accepts (`WorkspaceFiles.normalise`).
public enum SessionPatterns {
    /// A segment of a workspace path: any text without `/` or NUL but `..` (empty and `.` allowed).
    static let segment = #"(?:[^/\x00.][^/\x00]*|\.(?:[^/\x00.][^/\x00]*)?|\.\.[^/\x00]+)?"#
    /// A segment that names something (not empty, `.` or `..`).
    static let named = #"(?:[^/\x00.][^/\x00]*|\.[^/\x00.][^/\x00]*|\.\.[^/\x00]+)"#
    static let first = #"(?:[^/\x00.][^/\x00]*|\.(?:[^/\x00.][^/\x00]*)?|\.\.[^/\x00]+)"#
    /// A path in the workspace: relative, or under `/workspace`; empty is the workspace itself.
    public static let path = "^(?:|\(first)(?:/\(segment))*|/workspace(?:/\(segment))*)$"
    /// A path that names a file or directory in the workspace (not the workspace itself).
    public static let namedPath = "^(?:(?:\(first)(?:/\(segment))*/)?\(named)(?:/\(segment))*|/workspace(?:/\(segment))*/\(named)(?:/\(segment))*)$"
    public static let noNUL = #"^[^\x00]*$"#
    public static let environmentName = #"^[^=\x00]+$"#
    /// `k=v` pairs joined with `&` (the metadata filter).
    public static let metadataFilter = #"^(?:[^=&]+=[^&]*(?:&[^=&]+=[^&]*)*)?$"#

    public static var pathSchema: JSONSchema { JSONSchema.string(pattern: path).with("maxLength", 4000) }
    public static var namedPathSchema: JSONSchema { JSONSchema.string(pattern: namedPath).with("maxLength", 4000) }
    static var environment: JSONSchema { JSONSchema.map(.string(pattern: noNUL), keys: .string(pattern: environmentName)) }
}

/// The JSON Schemas of the session API's bodies (see `SchemaDescribed`).
extension CreateSessionRequest: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        let max = context.maximumLimits
        let schema = JSONSchema.object(CodingKeys.self, required: []) { key in
            switch key {
            case .desktop: JSONSchema.ref("DesktopSettings").orNull
            case .language: JSONSchema.enumeration(context.languageNames).described("The session's language (default python): contexts and `code` execs use it.")
            case .maxMemoryMb: JSONSchema.integer(minimum: SessionSettings.minimumMemoryMB, maximum: max.memoryMB).described("Memory over every process of the session, MiB.")
            case .processes: JSONSchema.integer(minimum: SessionSettings.minimumProcesses, maximum: max.processes).described("Processes and threads alive at once in the session.")
            case .cpuPercent: JSONSchema.integer(minimum: SessionSettings.minimumCPUPercent, maximum: max.effectiveCPUPercent).described("CPU share of the whole session, percent of one core.")
            case .diskMb: JSONSchema.integer(minimum: 1, maximum: max.workspaceMB).described("Size of the workspace (what the session may write), MiB.")
            case .timeoutSeconds: JSONSchema.number(minimum: 1, maximum: context.sessions.maxTTLSeconds).described("Idle time-to-live in seconds (default 300; the server sets the maximum).")
            case .allowNetwork: JSONSchema.boolean.described("Outbound network through a user-mode stack (the host's loopback stays unreachable).")
            case .environmentVars: SessionPatterns.environment.described("Environment of every command in the session.")
            case .files: JSONSchema.map(.string(), keys: SessionPatterns.namedPathSchema).described("Initial files: workspace path → UTF-8 text.")
            case .mount: JSONSchema.ref("SessionMount")
            case .metadata: JSONSchema.map(.string()).described("Free key/value labels (GET /v1/sessions?metadata=k=v filters on them).")
            }
        }
        // A desktop needs memory of its own: with one, max_memory_mb has a higher floor.
        let floor = JSONSchema.integer(minimum: DesktopSettings.minimumMemoryMB, maximum: max.memoryMB).orNull
        return schema.with("dependentSchemas", .object(["desktop": .object(["properties": .object(["max_memory_mb": .object(floor.keywords)])])]))
    }
}

extension DesktopSettings: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object([("width", JSONSchema.integer(minimum: widths.lowerBound, maximum: widths.upperBound).orNull.described("Pixels (default 1024).")),
                 ("height", JSONSchema.integer(minimum: heights.lowerBound, maximum: heights.upperBound).orNull.described("Pixels (default 768).")),
                 ("depth", JSONSchema(["enum": .array(depths.map { .int($0) } + [.null])]).described("Bits per pixel, 16 or 24 (default)."))],
                required: [])
    }
}

extension DesktopActionsRequest: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object([("actions", JSONSchema.array(.ref("DesktopAction"), minItems: 1, maxItems: maxActions))], required: ["actions"])
    }
}

extension DesktopAction: SchemaDescribed {
    /// One variant per type, each with the fields it takes (coordinates are checked against the
    /// session's screen by the server: a point off it is a 400 naming the value).
    public static func schema(in context: SchemaContext) -> JSONSchema {
        // On the largest screen a session may have (a task's actions are checked against it at submit).
        let x = JSONSchema.integer(minimum: 0, maximum: DesktopSettings.widths.upperBound - 1)
        let y = JSONSchema.integer(minimum: 0, maximum: DesktopSettings.heights.upperBound - 1)
        let button = JSONSchema.enumeration(buttons.keys.sorted())
        func variant(_ type: String, _ fields: [(String, JSONSchema)], required: [String]) -> JSONSchema {
            .object([("type", JSONSchema.constant(.string(type)))] + fields, required: ["type"] + required)
        }
        /// A point that may be left out (the pointer stays where it is), but not half of it.
        func optionalPoint(_ schema: JSONSchema) -> JSONSchema {
            schema.with("dependentRequired", .object(["x": .array(["y"]), "y": .array(["x"])]))
        }
        return JSONSchema.exactlyOne([
            variant("move", [("x", x), ("y", y)], required: ["x", "y"]),
            optionalPoint(variant("click", [("x", x), ("y", y), ("button", button)], required: [])),
            optionalPoint(variant("double_click", [("x", x), ("y", y), ("button", button)], required: [])),
            variant("drag", [("x", x), ("y", y), ("to_x", x), ("to_y", y), ("button", button)],
                    required: ["x", "y", "to_x", "to_y"]),
            optionalPoint(variant("scroll", [("x", x), ("y", y),
                                             ("amount", JSONSchema.integer(minimum: -50, maximum: 50).with("not", .object(["const": .int(0)])))],
                                  required: [])),
            variant("type", [("text", JSONSchema.string(minLength: 1, pattern: SessionPatterns.noNUL).with("maxLength", 10_000))], required: ["text"]),
            variant("key", [("key", JSONSchema.string(pattern: "^[A-Za-z0-9_]+(\\+[A-Za-z0-9_]+)*$").with("maxLength", 100)
                .described("X key names joined by '+': Return, ctrl+s, alt+F4."))], required: ["key"]),
        ]).described("A mouse or keyboard action, done with xdotool in the session.")
    }
}

extension CreateSessionRequest.Mount: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object([("host_path", JSONSchema.string(minLength: 1, pattern: SessionPatterns.noNUL).described("A directory under a root the server allows (--allow-host-path).")),
                 ("mode", JSONSchema.enumeration(["shadow", "readonly"]).described("shadow: copy-on-write, reviewed with changes/diff/apply; readonly: read-only."))],
                required: ["host_path", "mode"])
    }
}

extension SessionExecRequest: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        let fields = JSONSchema.object(CodingKeys.self, required: []) { key in
            switch key {
            case .command: JSONSchema.string(pattern: SessionPatterns.noNUL).described("Run by /bin/bash -c. Give this or code.")
            case .code: JSONSchema.string(pattern: SessionPatterns.noNUL).with("maxLength", 30_000).described("Source run with the language's interpreter. Give this or command.")
            case .language: JSONSchema.enumeration(context.languageNames).described("Language of code (default: the session's); a compiled one is compiled in /tmp and run.")
            case .cwd: JSONSchema.string(pattern: SessionPatterns.noNUL).with("maxLength", 4000).described("Working directory: absolute, or relative to /workspace (the default).")
            case .env: SessionPatterns.environment.described("Added to the session's environment for this command.")
            case .stdin: JSONSchema.string().described("Bytes fed to standard input (UTF-8).")
            case .timeoutSeconds: JSONSchema.number(minimum: 0, maximum: 3600).described("Seconds before the command's process group is killed (default 30; 0: none in the background, the maximum in the foreground).")
            case .background: JSONSchema.boolean.described("Return {process_id} at once; read its output with GET .../processes/{pid}.")
            case .pty: JSONSchema.object([("cols", JSONSchema.integer(minimum: 1, maximum: 1000).orNull), ("rows", JSONSchema.integer(minimum: 1, maximum: 1000).orNull)], required: [])
                .described("Run on a pseudo-terminal of this size (stdout carries both streams).")
            case .maxOutputSize: JSONSchema.integer(minimum: 1, maximum: context.maximumLimits.outputBytes).described("stdout + stderr bytes kept.")
            }
        }
        // Exactly one of command and code is a string (null is "not given").
        let given = { (name: String) in JSONValue.object(["properties": .object([name: .object(["type": "string"])]), "required": .array([.string(name)])]) }
        return fields.with("anyOf", .array([given("command"), given("code")]))
            .with("not", .object(["properties": .object(["command": .object(["type": "string"]), "code": .object(["type": "string"])]),
                                  "required": .array(["command", "code"])]))
    }
}

extension RunCodeRequest: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self, required: [.code]) { key in
            switch key {
            case .code: JSONSchema.string().with("maxLength", .int(context.maximumCodeBytes)).described("A cell: statements, the last expression's value is the result.")
            case .contextID: JSONSchema.string().described("A context made with POST .../contexts; without one, the session's default context of `language`.")
            case .language: JSONSchema.enumeration(["python", "javascript"]).described("Language of the default context (default: the session's).")
            case .timeoutSeconds: JSONSchema.number(minimum: 0, maximum: 3600).described("Seconds before the context is killed and restarted (default 30; 0: the maximum).")
            }
        }
    }
}

extension CreateContextRequest: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self, required: []) { key in
            switch key {
            case .language: JSONSchema.enumeration(["python", "javascript"])
            case .cwd: JSONSchema.string(pattern: SessionPatterns.noNUL).with("maxLength", 4000).described("Working directory of the context (default /workspace).")
            }
        }
    }
}

extension SessionTimeoutRequest: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self, required: [.timeoutSeconds]) { _ in
            JSONSchema.number(minimum: 1, maximum: context.sessions.maxTTLSeconds).described("The new idle TTL, counted from now.")
        }
    }
}

extension ProcessStdinRequest: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self, required: [.data]) { key in
            switch key {
            case .data: JSONSchema.string().described("Bytes (UTF-8) written to the process's stdin.")
            case .eof: JSONSchema.boolean.described("Close stdin after writing.")
            }
        }
    }
}

extension ProcessSignalRequest: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self, required: [.signal]) { _ in
            JSONSchema(["oneOf": .array([.object(JSONSchema.integer(minimum: 1, maximum: 64).keywords),
                                         .object(JSONSchema.enumeration(ProcessSignalRequest.allNames).keywords)])])
                .described("A signal number or name (SIGTERM, TERM, KILL …), sent to the process's group.")
        }
    }
}

extension ProcessResizeRequest: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self, required: [.cols, .rows]) { _ in JSONSchema.integer(minimum: 1, maximum: 1000) }
    }
}

extension FileMoveRequest: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self, required: [.from, .to]) { _ in SessionPatterns.namedPathSchema.described("A path in the workspace.") }
    }
}

extension ApplyRequest: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self, required: []) { key in
            switch key {
            case .paths: JSONSchema.array(SessionPatterns.namedPathSchema).described("Changed paths to write back (a directory takes what is under it); all when absent.")
            case .force: JSONSchema.boolean.described("Overwrite host files changed since the session began (409 otherwise).")
            }
        }
    }
}

// MARK: - Responses

extension SessionInfo: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self) { key in
            switch key {
            case .sessionID: JSONSchema.string(minLength: 1)
            case .status: JSONSchema.enumeration(["running", "ended"])
            case .language: JSONSchema.string()
            case .createdAt, .expiresAt: JSONSchema.string().described("RFC 3339 time.")
            case .timeoutSeconds: JSONSchema.number(minimum: 0).described("Idle TTL: the session ends this long after its last call.")
            case .allowNetwork: JSONSchema.boolean
            case .limits: JSONSchema.object(Limits.CodingKeys.self) { _ in JSONSchema.integer(minimum: 0) }
            case .mount: JSONSchema.ref("SessionMount").orNull
            case .metadata: JSONSchema.map(.string())
            case .memoryUsedMb: JSONSchema.number(minimum: 0).orNull.described("Memory charged to the session now, MiB.")
            case .endReason: JSONSchema.string().orNull
            case .desktop: JSONSchema.object(DesktopInfo.CodingKeys.self) { k in
                    k == .display ? JSONSchema.string() : JSONSchema.integer(minimum: 0)
                }.orNull.described("Its display, when it was created with one.")
            }
        }
    }
}

extension SessionProcess: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self, optional: [.stdout, .stderr, .outputTruncated, .timedOut]) { key in
            switch key {
            case .processID: JSONSchema.integer()
            case .command: JSONSchema.array(.string())
            case .cwd: JSONSchema.string()
            case .status: JSONSchema.string().described("running or exited.")
            case .exitCode, .signal: JSONSchema.integer().orNull
            case .background, .pty: JSONSchema.boolean
            case .startedAt: JSONSchema.number(minimum: 0).described("Unix seconds.")
            case .endedAt: JSONSchema.number(minimum: 0).orNull
            case .stdout, .stderr: JSONSchema.string().described("Output kept so far (GET .../processes/{pid} only).")
            case .outputTruncated, .timedOut: JSONSchema.boolean
            }
        }
    }
}

extension RunCodeResult: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self) { key in
            switch key {
            case .contextID: JSONSchema.string()
            case .stdout, .stderr: JSONSchema.string()
            case .result: JSONSchema.object([("text", JSONSchema.string()), ("json", JSONSchema([:]))], required: ["text", "json"]).orNull
                .described("The last expression's value: its repr, and its JSON when it has one.")
            case .error: JSONSchema.object([("name", JSONSchema.string()), ("value", JSONSchema.string()), ("traceback", JSONSchema.string())],
                                           required: ["name", "value", "traceback"]).orNull
            case .executionTimeMs: JSONSchema.number(minimum: 0)
            }
        }
    }
}

extension FileEntry: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self, optional: [.target]) { key in
            switch key {
            case .name, .path: JSONSchema.string()
            case .type: JSONSchema.enumeration(["file", "directory", "symlink", "other"])
            case .size: JSONSchema.integer(minimum: 0)
            case .mode: JSONSchema.string(pattern: "^[0-7]+$").described("Permission bits in octal.")
            case .modifiedAt: JSONSchema.number().described("Unix seconds.")
            case .target: JSONSchema.string().described("Where a symlink points (never followed).")
            }
        }
    }
}

extension DesktopActionsReport: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self) { key in
            switch key {
            case .performed: JSONSchema.integer(minimum: 1).described("Actions done.")
            case .executionTimeMs: JSONSchema.number(minimum: 0).described("Their wall time in the jail, ms.")
            }
        }
    }
}

extension DesktopWindowList: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self) { _ in
            JSONSchema.array(.object(DesktopWindow.CodingKeys.self) { key in
                switch key {
                case .title: JSONSchema.string().described("As the program set it: untrusted text.")
                case .id, .width, .height: JSONSchema.integer(minimum: 0)
                case .x, .y: JSONSchema.integer().described("Absolute, in screen pixels.")
                }
            })
        }
    }
}
