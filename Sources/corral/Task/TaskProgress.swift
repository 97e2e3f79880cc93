import ArgumentParser
import Foundation
import Synchronization

/// What `corral task submit --wait/--follow` shows while a task runs, from its event stream:
/// on a terminal, one line on stderr redrawn every 100 ms (step n/N, a spinner, the seconds the step
/// has taken); otherwise a line per step. With `follow`, the steps' output goes to stdout and stderr
/// as it comes.
final class TaskProgress: Sendable {
    private struct State {
        var parser = EventParser()
        var total = 0
        var step: (index: Int, tool: String, started: Date)?
        var finished = false
        var lineShown = false
    }
    private let state = Mutex(State())
    let follow: Bool
    let interactive: Bool
    static let spinner = Array("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")

    init(follow: Bool, interactive: Bool) {
        self.follow = follow
        self.interactive = interactive
        if interactive {
            Thread { [weak self] in
                var frame = 0
                while let self, !self.state.withLock({ $0.finished }) {
                    self.redraw(frame)
                    frame += 1
                    Thread.sleep(forTimeInterval: 0.1)
                }
            }.start()
        }
    }

    /// Bytes of the event stream (any split): whole events are handled, the rest waits.
    func take(_ bytes: [UInt8]) {
        let events = state.withLock { s -> [(String, [String: Any])] in s.parser.take(bytes) }
        for (name, data) in events { handle(name, data) }
    }

    private func handle(_ name: String, _ data: [String: Any]) {
        switch name {
        case "task_started":
            state.withLock { $0.total = (data["steps"] as? [Any])?.count ?? 0 }
        case "step_started":
            let (index, total) = state.withLock { s -> (Int, Int) in
                s.step = (data["step"] as? Int ?? 0, data["tool"] as? String ?? "", Date())
                return (s.step?.index ?? 0, s.total)
            }
            if !interactive { StandardStream.error.line("step \(index &+ 1)/\(total) (\(data["tool"] as? String ?? "")) started") }
        case "output":
            guard follow, let text = data["text"] as? String else { return }
            clearLine()
            if data["stream"] as? String == "stderr" { StandardStream.error.write(text) } else { StandardStream.output.write(text) }
        case "step_finished":
            let (index, total, seconds) = state.withLock { s -> (Int, Int, Double) in
                defer { s.step = nil }
                return (data["step"] as? Int ?? 0, s.total, s.step.map { Date().timeIntervalSince($0.started) } ?? 0)
            }
            clearLine()
            let result = data["result"] as? [String: Any]
            var line = "step \(index &+ 1)/\(total) (\(data["tool"] as? String ?? "")) \(data["status"] as? String ?? "")"
            line += String(format: " in %.1f s", seconds)
            if let exit = result?["exit_code"] as? Int, exit != 0 { line += ", exit code \(exit)" }
            if let message = result?["error_message"] as? String { line += ": \(message)" }
            StandardStream.error.line(line)
        default:
            break
        }
    }

    private func redraw(_ frame: Int) {
        guard let (step, total) = state.withLock({ s -> ((index: Int, tool: String, started: Date), Int)? in s.step.map { ($0, s.total) } }) else { return }
        let spin = Self.spinner[frame % Self.spinner.count]
        state.withLock { $0.lineShown = true }
        StandardStream.error.write(String(format: "\r\u{1B}[2K%@ step %d/%d (%@) %.1f s", String(spin), step.index &+ 1, total, step.tool,
                                          Date().timeIntervalSince(step.started)))
    }

    private func clearLine() {
        let shown = state.withLock { s -> Bool in defer { s.lineShown = false }; return s.lineShown }
        if shown, interactive { StandardStream.error.write("\r\u{1B}[2K") }
    }

    func end() {
        state.withLock { $0.finished = true }
        clearLine()
    }
}

/// How the task commands print a task.
enum TaskPrinter {
    static func json(_ task: [String: Any]) throws {
        StandardStream.output.write(try JSONSerialization.data(withJSONObject: task, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) + Data("\n".utf8))
    }

    static func summary(_ task: [String: Any]) {
        var text = "task \(task["task_id"] as? String ?? "?"): \(task["status"] as? String ?? "?")"
        if let position = task["queue_position"] as? Int { text += " (\(position) ahead in the queue)" }
        if let error = task["error"] as? String { text += " — \(error)" }
        StandardStream.output.line(text)
        for step in (task["steps"] as? [[String: Any]]) ?? [] {
            let result = step["result"] as? [String: Any]
            var line = "  \((step["index"] as? Int ?? 0) &+ 1). \(step["tool"] as? String ?? "") \(step["status"] as? String ?? "")"
            if let ms = result?["execution_time_ms"] as? Double { line += String(format: " (%.0f ms)", ms) }
            if let exit = result?["exit_code"] as? Int, exit != 0 { line += ", exit code \(exit)" }
            StandardStream.output.line(line)
        }
        if let output = task["output_url"] as? String { StandardStream.output.line("output: \(output) (corral task output \(task["task_id"] as? String ?? ""))") }
    }

    /// Prints the final task; a task that did not complete exits 1.
    static func finish(_ task: [String: Any], json: Bool) throws {
        if json { try self.json(task) } else { summary(task) }
        if task["status"] as? String != "completed" { throw ExitCode(1) }
    }

    /// An id as one path segment (an id with '/' or '?' must not name another route).
    static func segment(_ id: String) -> String {
        id.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_."))) ?? id
    }
}
