import CorralSandbox
import Foundation

/// Desktops in sessions (docs/desktop.md): a virtual display (Xvfb) in the session's jail, driven
/// with xdotool and read with xwd, every program the session's user's.
extension Engine {
    /// A planned session's display: its geometry, and `DISPLAY` for every exec in the session;
    /// refused below the memory a display needs.
    static func planDesktop(_ settings: DesktopSettings?, _ plan: inout SessionPlan) throws(EngineError) -> DesktopInfo? {
        guard let desktop = try settings?.resolved() else { return nil }
        guard plan.limits.memoryMB >= DesktopSettings.minimumMemoryMB else {
            throw EngineError(.invalidLimit, "a desktop needs at least \(DesktopSettings.minimumMemoryMB) MB: give max_memory_mb \(DesktopSettings.minimumMemoryMB) or more",
                              field: "max_memory_mb")
        }
        plan.environment.append((key: "DISPLAY", value: DesktopInfo.display))
        return desktop
    }

    /// Starts a new session's display and waits until it answers (10 s at most).
    func startDesktop(_ session: Session, _ info: DesktopInfo) async throws(EngineError) {
        var start = SessionExecRequest(command: DesktopScripts.startDisplay(info))
        start.background = true
        _ = try await exec(session.id, start, context: session.ownerContext)
        for _ in 0..<100 {
            let probe = try await desktopCommand(session, "xdotool getdisplaygeometry", timeout: 5, maxOutput: 4096)
            if probe.status == .success, probe.exitCode == 0 {
                var manager = SessionExecRequest(command: DesktopScripts.startWindowManager)
                manager.background = true
                _ = try await exec(session.id, manager, context: session.ownerContext)
                session.desktop.withLock { $0 = info }
                return
            }
            try? await Task.sleep(nanoseconds: 100_000_000)
        }
        let log = (try? await desktopCommand(session, DesktopScripts.displayLog, timeout: 5, maxOutput: 4096))?.stdout ?? ""
        throw EngineError(.internalError, "the desktop's display server (Xvfb) did not start within 10 s"
            + (log.isEmpty ? "" : "; it said: \(log.trimmingCharacters(in: .whitespacesAndNewlines))"))
    }

    /// The session's display, or 409 when it has none.
    func desktop(_ id: String, context: ExecutionContext) throws(EngineError) -> (Session, DesktopInfo) {
        let session = try sessions.session(id, owner: Self.owner(context))
        guard let info = session.desktop.withLock({ $0 }) else {
            throw EngineError(.conflict, "session \(id) has no desktop: create a session with \"desktop\": {\"width\": 1024, \"height\": 768}")
        }
        return (session, info)
    }

    public func desktopActions(_ id: String, _ request: DesktopActionsRequest, context: ExecutionContext) async throws(EngineError) -> DesktopActionsReport {
        let (session, info) = try desktop(id, context: context)
        let commands = try DesktopAction.xdotool(request.actions, screen: info)
        // Key names of `key` actions only: a stray `key` on another action is ignored, as a stray
        // `text` is (it used to be checked, and a name of no X key shape ended in a 500).
        var keys: [(name: String, index: Int)] = []
        for (index, action) in request.actions.enumerated() where action.type == "key" {
            if let combination = action.key { keys += combination.split(separator: "+").map { (String($0), index) } }
        }
        if !keys.isEmpty {
            // Unknown key names are refused before any action runs.
            let check = try await desktopCommand(session, "python3 -I -c \(DesktopScripts.quoted(DesktopScripts.unknownKeys)) "
                + keys.map { DesktopScripts.quoted($0.name) }.joined(separator: " "), timeout: 10, maxOutput: 65536)
            guard check.status == .success, check.exitCode == 0 else {
                throw EngineError(.internalError, "the key names could not be checked: \(check.stderr.suffix(300))")
            }
            if let unknown = check.stdout.split(separator: "\n").first, let at = keys.first(where: { $0.name == unknown }) {
                throw EngineError(.invalidRequest, "actions[\(at.index)].key: unknown key '\(unknown)' (X key names: Return, Tab, Escape, BackSpace, a, F5, ctrl+s …)",
                                  field: "actions[\(at.index)].key")
            }
        }
        let script = commands.map { (["xdotool"] + $0).map(DesktopScripts.quoted).joined(separator: " ") }.joined(separator: " && ")
        let result = try await desktopCommand(session, script, timeout: DesktopAction.seconds(request.actions), maxOutput: 65536)
        guard result.status == .success, result.exitCode == 0 else {
            throw EngineError(.internalError, "the actions did not all run (\(result.status.rawValue)): \(result.stderr.suffix(500))")
        }
        return DesktopActionsReport(performed: commands.count, executionTimeMs: result.executionTimeMs)
    }

    /// A PNG of the screen or of a region of it.
    public func desktopScreenshot(_ id: String, region: DesktopRegion, context: ExecutionContext) async throws(EngineError) -> [UInt8] {
        let (session, info) = try desktop(id, context: context)
        guard (0..<info.width).contains(region.x), (0..<info.height).contains(region.y) else {
            throw EngineError(.invalidRequest, "x and y must be on the screen (0 to \(info.width - 1), 0 to \(info.height - 1)), got \(region.x), \(region.y)", field: "x")
        }
        guard region.width >= 0, region.height >= 0, (1...16).contains(region.scale) else {
            throw EngineError(.invalidRequest, "width and height must be 0 (to the edge) or more, scale 1 to 16", field: "scale")
        }
        let limit = min(64 << 20, configuration.maximumLimits.outputBytes)
        let result = try await desktopCommand(session, DesktopScripts.screenshot(region), timeout: 60, maxOutput: limit)
        guard result.status == .success, result.exitCode == 0,
              let png = Data(base64Encoded: result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)),
              png.starts(with: [0x89, 0x50, 0x4e, 0x47]) else {
            throw EngineError(.internalError, "the screenshot failed (\(result.status.rawValue)): \(result.stderr.suffix(500))")
        }
        return [UInt8](png)
    }

    public func desktopWindows(_ id: String, context: ExecutionContext) async throws(EngineError) -> DesktopWindowList {
        let (session, _) = try desktop(id, context: context)
        let result = try await desktopCommand(session, DesktopScripts.windows, timeout: 30, maxOutput: 4 << 20)
        guard result.status == .success, result.exitCode == 0 else {
            throw EngineError(.internalError, "the windows could not be listed: \(result.stderr.suffix(500))")
        }
        return DesktopWindowList(windows: DesktopWindowTree.parse(result.stdout))
    }

    /// A command in the session as its owner, its whole result.
    func desktopCommand(_ session: Session, _ command: String, timeout: Double, maxOutput: Int) async throws(EngineError) -> RunResult {
        var request = SessionExecRequest(command: command)
        request.timeoutSeconds = timeout
        request.maxOutputSize = maxOutput
        guard case .finished(let response) = try await exec(session.id, request, context: session.ownerContext) else {
            throw EngineError(.internalError, "a desktop command started in the background")
        }
        return response.result
    }
}

extension DesktopAction {
    /// The xdotool words of every action of one request (1 to `maxActions`, typing at most
    /// `maxTypedCharacters` together); throws what is wrong, naming the field and the value.
    static func xdotool(_ actions: [DesktopAction], screen: DesktopInfo) throws(EngineError) -> [[String]] {
        guard (1...DesktopActionsRequest.maxActions).contains(actions.count) else {
            throw EngineError(.invalidRequest, "give 1 to \(DesktopActionsRequest.maxActions) actions, got \(actions.count)", field: "actions")
        }
        var commands: [[String]] = []
        var typed = 0
        for (index, action) in actions.enumerated() {
            commands.append(try action.xdotool(index: index, screen: screen))
            if action.type == "type" { typed += action.text?.unicodeScalars.count ?? 0 }
            guard typed <= DesktopActionsRequest.maxTypedCharacters else {
                throw EngineError(.invalidRequest, "actions[\(index)].text: the type actions of one request type at most "
                    + "\(DesktopActionsRequest.maxTypedCharacters) characters together (12 ms apart), \(typed) so far: send the rest in another request",
                    field: "actions[\(index)].text")
            }
        }
        return commands
    }

    /// How long the actions may take: xdotool's delays (12 ms a typed character, key or scroll notch,
    /// 80 ms in a double click), twice over, and 30 s for the rest.
    static func seconds(_ actions: [DesktopAction]) -> Double {
        let typed = actions.reduce(0) { $0 + ($1.type == "type" ? $1.text?.unicodeScalars.count ?? 0 : 0) }
        let notches = actions.reduce(0) { $0 + ($1.type == "scroll" ? Int(($1.amount ?? 1).magnitude) : 0) }
        return 30 + 2 * (0.012 * Double(typed + actions.count + notches) + 0.08 * Double(actions.count))
    }

    /// The xdotool words of this action; throws what is wrong, naming the field and the value.
    func xdotool(index: Int, screen: DesktopInfo) throws(EngineError) -> [String] {
        let field = "actions[\(index)]"
        func point(_ px: Int?, _ py: Int?, _ nx: String = "x", _ ny: String = "y", required: Bool) throws(EngineError) -> [String] {
            guard let px, let py else {
                if required || px != nil || py != nil {
                    throw EngineError(.invalidRequest, "\(field): \(type) needs both \(nx) and \(ny)", field: "\(field).\(nx)")
                }
                return []
            }
            guard (0..<screen.width).contains(px) else {
                throw EngineError(.invalidRequest, "\(field).\(nx) = \(px) is off the screen (0 to \(screen.width - 1))", field: "\(field).\(nx)")
            }
            guard (0..<screen.height).contains(py) else {
                throw EngineError(.invalidRequest, "\(field).\(ny) = \(py) is off the screen (0 to \(screen.height - 1))", field: "\(field).\(ny)")
            }
            return ["mousemove", String(px), String(py)]
        }
        let buttonName = button ?? "left"
        guard let buttonNumber = Self.buttons[buttonName] else {
            throw EngineError(.invalidRequest, "\(field).button must be left, middle or right, got '\(buttonName)'", field: "\(field).button")
        }
        switch type {
        case "move": return try point(x, y, required: true)
        case "click": return try point(x, y, required: false) + ["click", buttonNumber]
        case "double_click": return try point(x, y, required: false) + ["click", "--repeat", "2", "--delay", "80", buttonNumber]
        case "drag":
            return try point(x, y, required: true) + ["mousedown", buttonNumber] + point(toX, toY, "to_x", "to_y", required: true) + ["mouseup", buttonNumber]
        case "scroll":
            let notches = amount ?? 1
            guard notches != 0, (-50...50).contains(notches) else {
                throw EngineError(.invalidRequest, "\(field).amount must be -50 to 50 and not 0 (down when positive), got \(notches)", field: "\(field).amount")
            }
            return try point(x, y, required: false) + ["click", "--repeat", String(notches.magnitude), "--delay", "12", notches > 0 ? "5" : "4"]
        case "type":
            guard let text, !text.isEmpty, text.unicodeScalars.count <= 10_000, !text.utf8.contains(0) else {
                throw EngineError(.invalidRequest, "\(field): type needs 'text' (1 to 10,000 characters, no NUL)", field: "\(field).text")
            }
            return ["type", "--delay", "12", "--", text]
        case "key":
            guard let key, !key.isEmpty, key.count <= 100,
                  key.split(separator: "+", omittingEmptySubsequences: false).allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") } }) else {
                throw EngineError(.invalidRequest, "\(field).key must be X key names joined by '+' (Return, ctrl+s, alt+F4), got '\(key ?? "")'", field: "\(field).key")
            }
            return ["key", "--delay", "12", "--", key]
        default:
            throw EngineError(.invalidRequest, "\(field).type must be one of \(Self.types.joined(separator: ", ")), got '\(type)'", field: "\(field).type")
        }
    }
}

/// The windows in `xwininfo -root -tree`'s output: `0x200016 "title": ("res" "Class")  93x52+40+40  +40+40`.
/// Read from the end of each line: a title is the program's own text and may hold anything.
enum DesktopWindowTree {
    static func parse(_ text: String) -> [DesktopWindow] {
        var windows: [DesktopWindow] = []
        for raw in text.split(separator: "\n") where windows.count < 1000 {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard line.hasPrefix("0x"), let space = line.firstIndex(of: " ") else { continue }
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 3, let absolute = fields.last, let geometry = fields.dropLast().last,
                  let id = Int(line[line.index(line.startIndex, offsetBy: 2)..<space], radix: 16) else { continue }
            let size = geometry.split(whereSeparator: { $0 == "x" || $0 == "+" || $0 == "-" })
            let position = absolute.split(whereSeparator: { $0 == "+" }).compactMap { Int($0) }
            guard size.count >= 2, let w = Int(size[0]), let h = Int(size[1]), position.count == 2 else { continue }
            var title = ""
            let rest = line[line.index(after: space)...]
            if rest.hasPrefix("\""), let end = rest.range(of: "\": (", options: .backwards), end.lowerBound > rest.startIndex {
                title = String(rest[rest.index(after: rest.startIndex)..<end.lowerBound])
            }
            windows.append(DesktopWindow(id: id, title: title, x: position[0], y: position[1], width: w, height: h))
        }
        return windows
    }
}
