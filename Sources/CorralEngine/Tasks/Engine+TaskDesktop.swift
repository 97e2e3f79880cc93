import CorralSandbox
import Foundation

/// A task's desktop steps (docs/tasks.md): `gui` runs actions on the task session's display,
/// `screenshot` saves a PNG of it into the task's directory (and so into output.zip).
extension Engine {
    /// The file a screenshot step writes: `screenshot-N.png`, N the step's number from 1 (as in agent.log).
    static func screenshotName(step index: Int) -> String { "screenshot-\(index + 1).png" }

    /// Runs a `gui` or `screenshot` step; what goes wrong is its result (a step never throws).
    func runDesktopStep(_ input: TaskStepRequest, index: Int, in session: Session, task: LiveTask, id: String,
                        context: ExecutionContext) async -> StepResult {
        let started = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6 }
        do throws(EngineError) {
            if input.tool == "gui" {
                let report = try await desktopActions(session.id, DesktopActionsRequest(actions: input.actions ?? []), context: context)
                return StepResult(executionID: id, result: RunResult(status: .success, stdout: "performed \(report.performed) action(s)\n", exitCode: 0,
                                                                     executionTimeMs: elapsed()))
            }
            let png = try await desktopScreenshot(session.id, region: DesktopRegion(), context: context)
            let name = Self.screenshotName(step: index)
            guard task.directory.writeFile(name, Data(png)) else {
                return StepResult(executionID: id, result: RunResult(status: .error, executionTimeMs: elapsed(),
                                                                     errorMessage: "the screenshot could not be saved as \(name) in \(task.directory.path) (agent.log says why)"))
            }
            return StepResult(executionID: id, result: RunResult(status: .success, stdout: "\(name) (\(png.count) bytes)\n", exitCode: 0,
                                                                 executionTimeMs: elapsed()))
        } catch {
            // A refused action (an unknown key name) is the step's error; the rest is the server's.
            let status: RunStatus = error.code == .invalidRequest ? .error : .internalError
            return StepResult(executionID: id, result: RunResult(status: status, executionTimeMs: elapsed(), errorMessage: error.message))
        }
    }
}
