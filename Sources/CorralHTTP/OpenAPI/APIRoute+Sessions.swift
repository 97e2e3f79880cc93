import CorralEngine

/// The session routes (docs/sessions.md): one jail that lives across calls, with commands,
/// processes, code contexts, files and, over a shadow mount, changes, diff and apply.
extension APIRoute {
    static let sessionErrors: [APIErrorCode] = [.invalidRequest, .notFound, .gone, .conflict, .internalError]
    static let sessionBodyErrors: [APIErrorCode] = bodyErrors + [.notFound, .gone, .conflict, .internalError]

    public static let createSession = APIRoute(method: .post, path: "/v1/sessions", operationID: "createSession",
        summary: "Start a session: a jail that lives until deleted or idle past its timeout.",
        requestSchema: "CreateSessionRequest", responseSchema: "Session",
        errors: bodyErrors + [.unknownLanguage, .invalidLimit, .forbidden, .limitReached, .shuttingDown, .internalError])
    public static let listSessions = APIRoute(method: .get, path: "/v1/sessions", operationID: "listSessions",
        summary: "The caller's live sessions, oldest first.", responseSchema: "SessionList", query: [.metadata], errors: [.invalidRequest])
    public static let getSession = APIRoute(method: .get, path: "/v1/sessions/{id}", operationID: "getSession",
        summary: "One session (410 once it has ended).", responseSchema: "Session", errors: sessionErrors)
    public static let deleteSession = APIRoute(method: .delete, path: "/v1/sessions/{id}", operationID: "deleteSession",
        summary: "End a session: its processes die, its workspace is removed.", responseSchema: "Done", errors: sessionErrors)
    public static let sessionTimeout = APIRoute(method: .post, path: "/v1/sessions/{id}/timeout", operationID: "setSessionTimeout",
        summary: "Set the idle timeout, counted from now.", requestSchema: "SessionTimeoutRequest", responseSchema: "Session",
        errors: sessionBodyErrors + [.invalidLimit])
    public static let sessionExec = APIRoute(method: .post, path: "/v1/sessions/{id}/exec", operationID: "execInSession",
        summary: "Run a command (or code) in the session: the result object, or {process_id} in the background.",
        requestSchema: "SessionExecRequest", responseSchema: "SessionExecResult",
        errors: sessionBodyErrors + [.unknownLanguage, .invalidLimit], responseMedia: streamedMedia)
    public static let sessionProcesses = APIRoute(method: .get, path: "/v1/sessions/{id}/processes", operationID: "listSessionProcesses",
        summary: "Processes the session's commands started (running, and the last exited).", responseSchema: "ProcessList", errors: sessionErrors)
    public static let sessionProcess = APIRoute(method: .get, path: "/v1/sessions/{id}/processes/{pid}", operationID: "getSessionProcess",
        summary: "One process with its output so far; `wait` waits for its end.", responseSchema: "SessionProcess",
        query: [.wait], errors: sessionErrors)
    public static let sessionProcessStdin = APIRoute(method: .post, path: "/v1/sessions/{id}/processes/{pid}/stdin", operationID: "writeSessionProcessStdin",
        summary: "Write to a process's stdin (and close it with eof).", requestSchema: "ProcessStdinRequest", responseSchema: "Done", errors: sessionBodyErrors)
    public static let sessionProcessSignal = APIRoute(method: .post, path: "/v1/sessions/{id}/processes/{pid}/signal", operationID: "signalSessionProcess",
        summary: "Send a signal to a process's group.", requestSchema: "ProcessSignalRequest", responseSchema: "Done", errors: sessionBodyErrors)
    public static let sessionProcessResize = APIRoute(method: .post, path: "/v1/sessions/{id}/processes/{pid}/resize", operationID: "resizeSessionProcess",
        summary: "Resize a process's pseudo-terminal.", requestSchema: "ProcessResizeRequest", responseSchema: "Done", errors: sessionBodyErrors)
    public static let sessionProcessConnect = APIRoute(method: .get, path: "/v1/sessions/{id}/processes/{pid}/connect", operationID: "connectSessionProcess",
        summary: "A WebSocket (send Upgrade: websocket) to a process: its output, then its exit; send stdin, eof, resize, signal (docs/sessions.md). Without the upgrade: 400.",
        responseSchema: nil, errors: sessionErrors,
        responseMedia: ["text/plain": JSONSchema(["type": "string"]).described("Never sent: a connection that is upgraded speaks WebSocket.")])
    public static let forkSession = APIRoute(method: .post, path: "/v1/sessions/{id}/fork", operationID: "forkSession",
        summary: "A new session like this one whose workspace starts as this one's is now (processes are not copied).",
        requestSchema: "ForkSessionRequest", responseSchema: "Session",
        errors: sessionBodyErrors + [.invalidLimit, .limitReached, .shuttingDown])
    public static let createContext = APIRoute(method: .post, path: "/v1/sessions/{id}/contexts", operationID: "createCodeContext",
        summary: "Start a stateful code context (python or javascript).", requestSchema: "CreateContextRequest", responseSchema: "CodeContext",
        errors: sessionBodyErrors)
    public static let listContexts = APIRoute(method: .get, path: "/v1/sessions/{id}/contexts", operationID: "listCodeContexts",
        summary: "The session's code contexts.", responseSchema: "CodeContextList", errors: sessionErrors)
    public static let runCode = APIRoute(method: .post, path: "/v1/sessions/{id}/run_code", operationID: "runCode",
        summary: "Run a cell in a code context: variables, imports and functions stay for the next.",
        requestSchema: "RunCodeRequest", responseSchema: "RunCodeResult", errors: sessionBodyErrors + [.invalidLimit])
    public static let readFile = APIRoute(method: .get, path: "/v1/sessions/{id}/files", operationID: "readSessionFile",
        summary: "A file's bytes (application/octet-stream), or a directory's listing (JSON).", responseSchema: "FileListing",
        query: [.path], errors: sessionErrors + [.payloadTooLarge],
        responseMedia: ["application/octet-stream": JSONSchema(["type": "string", "format": "binary"])])
    public static let writeFile = APIRoute(method: .put, path: "/v1/sessions/{id}/files", operationID: "writeSessionFile",
        summary: "Write the body's bytes at path (atomically, creating parents).", responseSchema: "FileEntry",
        query: [.namedPath], errors: sessionErrors + [.payloadTooLarge, .forbidden], requestMedia: "application/octet-stream")
    public static let deleteFile = APIRoute(method: .delete, path: "/v1/sessions/{id}/files", operationID: "deleteSessionFile",
        summary: "Delete a file, a symlink (not its target) or a directory tree.", responseSchema: "Done",
        query: [.namedPath], errors: sessionErrors + [.forbidden])
    public static let moveFile = APIRoute(method: .post, path: "/v1/sessions/{id}/files/move", operationID: "moveSessionFile",
        summary: "Move or rename a path in the workspace.", requestSchema: "FileMoveRequest", responseSchema: "FileEntry",
        errors: sessionBodyErrors + [.forbidden])
    public static let archive = APIRoute(method: .get, path: "/v1/sessions/{id}/archive", operationID: "downloadSessionArchive",
        summary: "A zip of a workspace directory (symlinks left out).", responseSchema: nil, query: [.path],
        errors: sessionErrors + [.payloadTooLarge, .limitReached], responseMedia: ["application/zip": JSONSchema(["type": "string", "format": "binary"])])
    public static let uploadArchive = APIRoute(method: .post, path: "/v1/sessions/{id}/archive", operationID: "uploadSessionArchive",
        summary: "Unpack an uploaded zip (the body, any Content-Type) into a workspace directory (checked whole first: no '..', absolute names, symlinks; bounded entries, size and inflation).",
        responseSchema: "UnpackReport", query: [.path], errors: sessionErrors + [.payloadTooLarge, .forbidden], requestMedia: "application/octet-stream")
    public static let changes = APIRoute(method: .get, path: "/v1/sessions/{id}/changes", operationID: "listSessionChanges",
        summary: "What a shadow session added, modified and deleted.", responseSchema: "ChangesReport", errors: sessionErrors)
    public static let diff = APIRoute(method: .get, path: "/v1/sessions/{id}/diff", operationID: "diffSession",
        summary: "A unified diff of a shadow session's changes (binary files named).", responseSchema: "DiffReport",
        query: [.path], errors: sessionErrors)
    public static let apply = APIRoute(method: .post, path: "/v1/sessions/{id}/apply", operationID: "applySessionChanges",
        summary: "Write chosen changes back to the host directory; 409 with the conflicts, touching nothing.",
        requestSchema: "ApplyRequest", responseSchema: "ChangesReport", errors: sessionBodyErrors + [.conflict])

    // Desktops (docs/desktop.md): 409 on a session created without one.
    public static let desktopActions = APIRoute(method: .post, path: "/v1/sessions/{id}/desktop/actions", operationID: "desktopActions",
        summary: "Mouse and keyboard actions on the session's desktop, in order (xdotool in the jail); answers when they are done. "
            + "A point off the session's screen or an unknown key is a 400 naming it, before any action runs.",
        requestSchema: "DesktopActionsRequest", responseSchema: "DesktopActionsReport", errors: sessionBodyErrors)
    public static let desktopScreenshot = APIRoute(method: .get, path: "/v1/sessions/{id}/desktop/screenshot", operationID: "desktopScreenshot",
        summary: "A PNG of the session's screen, or of a region of it, scaled down by a whole factor.", responseSchema: nil,
        query: [.regionX, .regionY, .regionWidth, .regionHeight, .scale], errors: sessionErrors,
        responseMedia: ["image/png": JSONSchema(["type": "string", "format": "binary"])])
    public static let desktopWindows = APIRoute(method: .get, path: "/v1/sessions/{id}/desktop/windows", operationID: "desktopWindows",
        summary: "Every window of the session's display: id, title, absolute position and size.", responseSchema: "DesktopWindowList", errors: sessionErrors)

    static let sessionRoutes: [APIRoute] = [
        createSession, listSessions, getSession, deleteSession, sessionTimeout, forkSession, sessionExec, sessionProcesses, sessionProcess,
        sessionProcessStdin, sessionProcessSignal, sessionProcessResize, sessionProcessConnect, createContext, listContexts, runCode,
        readFile, writeFile, deleteFile, moveFile, archive, uploadArchive, changes, diff, apply,
        desktopActions, desktopScreenshot, desktopWindows,
    ]
}

extension QueryParameter {
    public static let path = QueryParameter(name: "path", description: "A path in the workspace (relative, or under /workspace; default the workspace).") { _ in
        SessionPatterns.pathSchema
    }
    public static let namedPath = QueryParameter(name: "path", description: "A path in the workspace naming a file (relative, or under /workspace).",
                                                 required: true) { _ in
        SessionPatterns.namedPathSchema
    }
    public static let metadata = QueryParameter(name: "metadata", description: "Only sessions with these labels: k=v, several joined with '&' (URL-encoded).") { _ in
        .string(pattern: SessionPatterns.metadataFilter)
    }
    public static let regionX = QueryParameter(name: "x", description: "Left edge of the region (default 0).") { _ in .integer(minimum: 0, maximum: DesktopSettings.widths.upperBound - 1) }
    public static let regionY = QueryParameter(name: "y", description: "Top edge of the region (default 0).") { _ in .integer(minimum: 0, maximum: DesktopSettings.heights.upperBound - 1) }
    public static let regionWidth = QueryParameter(name: "width", description: "Width of the region (default: to the right edge).") { _ in .integer(minimum: 0, maximum: DesktopSettings.widths.upperBound) }
    public static let regionHeight = QueryParameter(name: "height", description: "Height of the region (default: to the bottom edge).") { _ in .integer(minimum: 0, maximum: DesktopSettings.heights.upperBound) }
    public static let scale = QueryParameter(name: "scale", description: "Keep one pixel in SCALE each way (1-16, default 1).") { _ in .integer(minimum: 1, maximum: 16) }
    public static let wait = QueryParameter(name: "wait", description: "Seconds to wait for the process to exit before answering (0-10; ask again to wait longer).") { _ in
        .number(minimum: 0, maximum: Engine.maxProcessWaitSeconds)
    }
}
