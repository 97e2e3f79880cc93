import CorralEngine
import Foundation
import Glibc

/// Seed 004's review-then-apply of a shadow copy, as `corral shadow` and `corral agent` offer it:
/// the diff is printed, the changes are written back with `--apply` or a "y" on a terminal, and
/// otherwise nothing is written.
enum ShadowReview {
    /// Returns false when the apply was refused (a conflict); `label` prefixes the messages.
    static func offer(engine: Engine, sessionID: String, root: String, apply: Bool, label: String,
                      context: ExecutionContext) throws(EngineError) -> Bool {
        let changes = try engine.sessionChanges(sessionID, context: context).changes
        guard !changes.isEmpty else {
            StandardStream.error.line("\(label): nothing changed in \(root)")
            return true
        }
        let diff = try engine.sessionDiff(sessionID, path: nil, context: context)
        StandardStream.output.write(diff.diff)
        StandardStream.error.line("\(label): \(changes.count) change(s): "
            + changes.prefix(20).map { "\($0.kind) \($0.path)" }.joined(separator: ", ") + (changes.count > 20 ? ", …" : ""))
        var approved = apply
        if !approved, isatty(STDIN_FILENO) == 1 {
            StandardStream.error.write("Apply these changes to \(root)? [y/N] ")
            approved = ["y", "yes"].contains((readLine() ?? "").trimmingCharacters(in: .whitespaces).lowercased())
        }
        guard approved else {
            StandardStream.error.line("\(label): not applied (nothing was written to \(root); --apply writes the changes)")
            return true
        }
        do throws(EngineError) {
            let applied = try engine.applySessionChanges(sessionID, ApplyRequest(), context: context)
            StandardStream.error.line("\(label): applied \(applied.changes.count) change(s) to \(root)")
            return true
        } catch where error.code == .conflict {
            StandardStream.error.line("\(label): not applied: \(error.message)")
            return false
        }
    }
}
