@testable import CorralEngine
@testable import CorralHTTP
import CorralPolicy
import CorralRuntimes
import CorralSandbox
import CorralStore
import Foundation

/// One value of every wire type with every field filled (optional ones too), the component it
/// is documented as, and how its Swift property names map to JSON names where the usual
/// camelCase → snake_case does not say it.
struct WireSample {
    var component: String
    var value: any Encodable
    /// Property → JSON name, where it is not the snake_case of the property; `""`: flattened
    /// (its own properties are checked instead).
    var renamed: [String: String] = [:]

    static let finding = Finding(rule: "python.process.shell", severity: .critical, category: .process,
                                 message: "runs a shell command: os.system", line: 2, column: 1)
    static let record = ExecutionRecord(
        executionId: "e1", createdAt: Date(timeIntervalSince1970: 1_700_000_000), language: "python", status: "error",
        exitCode: 1, executionTimeMs: 1, cpuTimeMs: 1, memoryUsedMb: 1, cached: false, codeHash: "abc", stdout: "o",
        stderr: "e", errorMessage: "exited with code 1", caller: "alice", requestId: "r1")
    static let warmPool: WarmPools.Snapshot = {
        var s = WarmPools.Snapshot()
        s.ready = 1; s.target = 2; s.hits = 40; s.misses = 2; s.fallbacks = 1
        s.memoryBytes = 9_437_184
        s.lastFallback = "the warm jail died while it waited"
        s.lastFailure = "clone3: Resource temporarily unavailable"
        s.disabledReason = "3 warm jails in a row failed to start; python runs use cold jails"
        s.forkServer = forkServer
        return s
    }()
    static let forkServer: ForkServers.Snapshot = {
        var f = ForkServers.Snapshot()
        f.state = "running"; f.zygotes = 1; f.busy = 1; f.capacity = 4; f.forks = 120; f.fallbacks = 1; f.restarts = 1
        f.memoryBytes = 7_340_032
        f.lastFallback = "the fork-server's fork did not report within 5 s (the zygote is replaced)"
        f.lastFailure = "a zygote died (it is replaced; runs meanwhile use warm or cold jails)"
        f.disabledReason = "the python fork-server failed to start 3 times in a row"
        return f
    }()

    static let codingMetrics = StatusReport.CodingMetrics(
        totalExecutions: 3, successfulExecutions: 1, failedExecutions: 1, timeoutExecutions: 1, securityViolations: 0,
        cacheHits: 1, cacheMisses: 2, languageBreakdown: ["python": 3])

    static var runResult: RunResult {
        var result = RunResult(status: .killed, stdout: "o", stderr: "e", exitCode: 137, signal: 9, executionTimeMs: 3,
                               cpuTimeMs: 2, memoryUsedMb: 1, outputTruncated: false, errorMessage: "killed",
                               limitExceeded: .fileSize, cached: false, degraded: ["cpu_percent"])
        result.compile = CompileResult(status: .compileError, stdout: "", stderr: "main.c:1: error", exitCode: 1,
                                       executionTimeMs: 40, cached: false, limitExceeded: .memory, errorMessage: "compilation failed")
        return result
    }

    static var all: [WireSample] {
        let limits = LimitsReport.Limits(ResourceLimits(), network: false, filesystem: false, policyMode: .strict, description: "d")
        let entry = LanguagesReport.Entry(name: "java", displayName: "Java", aliases: ["jdk"], available: true, version: "17",
                                          reason: "none", compiled: true, fileExtension: ".java", interpreter: "java",
                                          compiler: "javac", securityRestrictions: 4)
        let report = ValidationReport(language: "python", findings: [finding], analysis: .syntaxTree, threshold: .high,
                                      error: AnalysisFailure(code: .syntaxError, message: "bad", line: 1, column: 2),
                                      truncated: false, imports: ["os"], durationMs: 3)
        let response = ExecutionResponse(executionID: "e1", result: runResult, securityFindings: [finding], queueTimeMs: 1.5)
        return [
            WireSample(component: "ExecutionResult", value: response, renamed: ["result": ""]),
            WireSample(component: "CompileResult", value: runResult.compile),
            WireSample(component: "Finding", value: finding),
            WireSample(component: "BatchResponse", value: BatchResponse(results: [.success(response), .failure(EngineError(.unknownLanguage, "no"))])),
            WireSample(component: "ValidationReport", value: report),
            WireSample(component: "AnalysisFailure", value: AnalysisFailure(code: .timeout, message: "slow", line: 3, column: 4)),
            WireSample(component: "LanguagesReport", value: LanguagesReport(
                languages: ["python": entry], totalLanguages: 1, defaultTimeout: 30, maxTimeout: 300, defaultMemoryMb: 512,
                maxMemoryMb: 2048, defaultOutputSize: 1, maxOutputSize: 2, defaultCPUPercent: 100, maxCPUPercent: 200)),
            WireSample(component: "Language", value: entry, renamed: ["fileExtension": "extension"]),
            WireSample(component: "LimitsReport", value: LimitsReport(defaultLimits: limits, maximumLimits: limits,
                                                                      recommendedLimits: ["production": limits])),
            WireSample(component: "Limits", value: limits),
            WireSample(component: "ExecutionRecord", value: record),
            WireSample(component: "HistoryPage", value: HistoryResponse(count: 1, total: 1, limit: 1, offset: 0, executions: [record])),
            WireSample(component: "StatsReport", value: StatsReport(
                totalExecutions: 3, successRate: 0.5, byStatus: ["success": 1], byLanguage: ["python": 3],
                timing: .init(averageMs: 1, p50Ms: 1, p95Ms: 2), cache: .init(hits: 1, misses: 2, hitRate: 0.3),
                admission: .init(workers: 2, running: 0, queued: 0, queueCapacity: 64, rejected: 0), historyWriteFailures: 0,
                history: HistorySummary(total: 3, byStatus: ["success": 3], byLanguage: ["python": 3], cached: 1, averageExecutionTimeMs: 2),
                recentExecutions: [record], codingMetrics: codingMetrics)),
            WireSample(component: "CodingMetrics", value: codingMetrics),
            WireSample(component: "StatusReport", value: StatusReport(
                agentId: "corral-test", state: .running, uptimeSeconds: 1,
                connections: .init(history: .init(state: .connected, backend: "SQLiteHistoryStore"),
                                   cache: .init(state: .error, backend: "MemoryResultCache"),
                                   nats: .init(state: .connected, backend: "nats://127.0.0.1:4222"),
                                   postgres: .init(state: .notConfigured, backend: "none"),
                                   redis: .init(state: .disconnected, backend: "redis://127.0.0.1:6379/0", circuitBreaker: .open)),
                metrics: .init(tasksCompleted: 1, tasksFailed: 0, avgProcessingTimeMs: 1), codingMetrics: codingMetrics,
                warmPools: ["python": WarmPoolStatus(warmPool)])),
            WireSample(component: "WarmPoolStatus", value: WarmPoolStatus(warmPool)),
            WireSample(component: "ForkServerStatus", value: ForkServerStatus(forkServer)),
            WireSample(component: "Health", value: HealthReport(status: .ok)),
            WireSample(component: "Ready", value: HealthReport(status: .ready)),
            WireSample(component: "Error", value: ErrorBody(.notFound, "no such execution")),
        ]
    }
}

extension String {
    /// `JSONEncoder.KeyEncodingStrategy.convertToSnakeCase`'s reading of a property name:
    /// `executionID` → `execution_id`, `maxCPUPercent` → `max_cpu_percent`, `p50Ms` → `p50_ms`.
    var snakeCased: String {
        let characters = Array(self)
        var words: [String] = [], word = ""
        for (i, c) in characters.enumerated() {
            if c.isUppercase, !word.isEmpty {
                let afterLower = characters[i - 1].isLowercase || characters[i - 1].isNumber
                let beforeLower = i + 1 < characters.count && characters[i + 1].isLowercase
                if afterLower || beforeLower { words.append(word); word = "" }
            }
            word.append(c)
        }
        words.append(word)
        return words.map { $0.lowercased() }.joined(separator: "_")
    }
}
