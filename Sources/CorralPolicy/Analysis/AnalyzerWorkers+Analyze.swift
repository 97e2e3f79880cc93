import CorralSandbox
import Foundation

extension AnalyzerWorkers {
    /// A worker's analysis of `code`: the report, or the failure a one-shot analyzer jail gives
    /// for the same event (deadline, memory, crash, exit, unreadable output).
    func analyze(code: String, key: PoolKey, spec: @autoclosure () -> JailSpec,
                 options: ValidationOptions) async -> Result<(output: AnalyzerOutput, workerPID: Int32), AnalysisFailure> {
        let pool: ServicePool
        switch self.pool(key, spec: spec()) {
        case .success(let p): pool = p
        case .failure(let failure): return .failure(failure)
        }
        let payload = Array(code.utf8)
        var retried = false
        while true {
            let reply = await pool.request(payload, timeoutSeconds: options.timeoutSeconds) { bytes in
                try JSONDecoder().decode(AnalyzerOutput.self, from: Data(bytes))
            }
            switch reply {
            case .success(let r):
                return .success((r.value, r.workerPID))
            case .failure(let failure):
                // A worker that had served other programs may have died of its history (or been killed
                // while idle): one retry on a fresh worker, so that only this code's own trouble is reported.
                if !retried, Self.worthRetrying(failure) {
                    retried = true
                    continue
                }
                return .failure(Self.analysisFailure(failure, options: options))
            }
        }
    }

    static func worthRetrying(_ failure: ServiceFailure) -> Bool {
        guard let served = failure.servedBefore, served > 0 else { return false }
        return [.crashed, .exited, .memoryLimit, .malformedReply, .oversizedReply].contains(failure.code)
    }

    /// The failure `SyntaxTreeAnalyzer.interpret` gives for a one-shot jail that ended the same way.
    static func analysisFailure(_ failure: ServiceFailure, options: ValidationOptions) -> AnalysisFailure {
        let tail = failure.stderrTail.isEmpty ? "" : ": \(failure.stderrTail)"
        switch failure.code {
        case .timeout:
            return AnalysisFailure(code: .timeout, message: "the analysis did not finish within \(options.timeoutSeconds) s")
        case .memoryLimit:
            return AnalysisFailure(code: .tooComplex, message: "the analysis needed more than \(options.memoryMB) MB")
        case .crashed, .cancelled:
            let signal = failure.signal.map(String.init) ?? "9"
            return AnalysisFailure(code: .analyzerCrashed, message: "the analyzer died of signal \(signal) on this input")
        case .oversizedRequest:
            return AnalysisFailure(code: .tooComplex, message: "the code is too large to analyse (\(failure.message))")
        case .unavailable:
            return AnalysisFailure(code: .analyzerUnavailable, message: "no jail for the analyzer: \(failure.message)")
        case .malformedReply:
            return AnalysisFailure(code: .analyzerFailed, message: "the analyzer's output is unreadable: \(failure.message)")
        default:
            return AnalysisFailure(code: .analyzerFailed, message: "the analyzer worker ended: \(failure.message)" + tail)
        }
    }
}
