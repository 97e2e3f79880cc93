import CorralPolicy
import CorralTestSupport
import Testing

/// Modes (`off`, `warn`, `strict`) and the `allow_network` / `allow_filesystem` flags.
/// Bash is analysed with patterns, so these run without a jail's analyzer.
@Suite(.enabled(if: TestSupport.jailsAvailable))
struct PolicyModeTests {
    static let download = "curl -s http://203.0.113.1/data.json -o data.json\n"

    @Test func offAllowsEverything() async {
        let report = await PolicyTestSupport.validate("rm -rf /\n", "bash")
        #expect(!report.isSafe)
        #expect(Policy.decide(report, mode: .off) == .allow)
    }

    @Test func warnRunsAndReturnsTheFindings() async {
        let report = await PolicyTestSupport.validate("rm -rf /\n", "bash")
        let decision = Policy.decide(report, mode: .warn)
        #expect(decision.allowsRun)
        #expect(decision.findings == report.findings)
        #expect(!decision.findings.isEmpty)
    }

    @Test func strictRefusesFindingsAtTheThreshold() async {
        let report = await PolicyTestSupport.validate("rm -rf /\n", "bash")
        guard case .refuse(let reason, let findings) = Policy.decide(report, mode: .strict) else {
            Issue.record("strict mode let rm -rf / run")
            return
        }
        #expect(reason.contains("strict mode"))
        #expect(findings.contains { $0.rule == "bash.filesystem.rm_system" && $0.severity == .critical })
    }

    @Test func strictAllowsFindingsBelowTheThreshold() async {
        let report = await PolicyTestSupport.validate("mkdir -p out\nrm -rf out/cache\n", "bash")
        #expect(report.findings.map(\.severity) == [.medium], "\(report.dump)")
        #expect(report.isSafe)
        #expect(Policy.decide(report, mode: .strict) == .warn(findings: report.findings))
        #expect(!Policy.decide(report, mode: .strict, threshold: .medium).allowsRun)
    }

    @Test func cleanCodeIsAllowedInEveryMode() async {
        let report = await PolicyTestSupport.validate("echo hello\n", "bash")
        for mode in PolicyMode.allCases { #expect(Policy.decide(report, mode: mode) == .allow) }
    }

    @Test func allowNetworkLowersNetworkFindings() async {
        let denied = await PolicyTestSupport.validate(Self.download, "bash")
        let allowed = await PolicyTestSupport.validate(Self.download, "bash", options: ValidationOptions(allowNetwork: true))
        #expect(denied.findings.first { $0.category == .network }?.severity == .high)
        #expect(allowed.findings.first { $0.category == .network }?.severity == .low)
        #expect(!denied.isSafe)
        #expect(allowed.isSafe)
    }

    @Test func allowFilesystemLowersWorkspaceWritesButNotHostWrites() async {
        let code = "rm -rf build/\nrm -rf /etc\n"
        let denied = await PolicyTestSupport.validate(code, "bash")
        let allowed = await PolicyTestSupport.validate(code, "bash", options: ValidationOptions(allowFilesystem: true))
        let severity = { (r: ValidationReport, rule: String, line: Int) in
            r.findings.first { $0.rule == rule && $0.line == line }?.severity
        }
        #expect(severity(denied, "bash.filesystem.rm_recursive", 1) == .medium)
        #expect(severity(allowed, "bash.filesystem.rm_recursive", 1) == .low)
        #expect(severity(allowed, "bash.filesystem.rm_system", 2) == .critical)
    }

    @Test func allowFlagsApplyToSyntaxTreeFindings() async {
        let code = "import socket\nopen('out.txt', 'w')\n"
        let denied = await PolicyTestSupport.validate(code)
        let allowed = await PolicyTestSupport.validate(code, options: ValidationOptions(allowNetwork: true, allowFilesystem: true))
        #expect(denied.findings.first { $0.rule == "python.network.socket" }?.severity == .high)
        #expect(allowed.findings.first { $0.rule == "python.network.socket" }?.severity == .low)
        #expect(denied.findings.first { $0.rule == "python.filesystem.write_workspace" }?.severity == .medium)
        #expect(allowed.findings.first { $0.rule == "python.filesystem.write_workspace" }?.severity == .low)
        #expect(allowed.isSafe)
    }
}

/// `Policy.decide` on reports built by hand: no jail needed.
struct PolicyDecisionTests {
    static func report(_ severities: [Severity], error: AnalysisFailure? = nil) -> ValidationReport {
        let findings = severities.enumerated().map {
            Finding(rule: "test.rule\($0.offset)", severity: $0.element, category: .process, message: "m", line: $0.offset + 1, column: 1)
        }
        return ValidationReport(language: "python", findings: findings, analysis: .syntaxTree, threshold: .high, error: error)
    }

    @Test func thresholdsCompare() {
        #expect(Severity.low < .medium && Severity.medium < .high && Severity.high < .critical)
        #expect(Severity.critical.shifted(by: -2) == .medium)
        #expect(Severity.low.shifted(by: -2) == .low)
    }

    @Test func isSafeFollowsTheThreshold() {
        #expect(Self.report([.low, .medium]).isSafe)
        #expect(!Self.report([.low, .high]).isSafe)
    }

    @Test func strictRefusesWhenTheAnalysisGaveUp() {
        let failed = Self.report([], error: AnalysisFailure(code: .timeout, message: "slow"))
        #expect(!failed.isSafe)
        #expect(!Policy.decide(failed, mode: .strict).allowsRun)
        let syntax = Self.report([], error: AnalysisFailure(code: .syntaxError, message: "bad"))
        #expect(syntax.isSafe)
        #expect(Policy.decide(syntax, mode: .strict) == .allow)
    }

    @Test func refusalListsEveryFinding() {
        let r = Self.report([.critical, .low])
        guard case .refuse(_, let findings) = Policy.decide(r, mode: .strict) else {
            Issue.record("not refused")
            return
        }
        #expect(findings.count == 2)
        #expect(r.issues.first?.hasPrefix("critical") == true)
    }
}
