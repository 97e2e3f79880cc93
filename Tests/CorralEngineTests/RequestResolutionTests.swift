@testable import CorralEngine
import CorralPolicy
import CorralSandbox
import CorralStore
import Foundation
import Testing

/// Request resolution, once for every front end: each rule gives the same answer (and the same
/// error, with its field and HTTP code) whichever request type or front end reaches it.
@Suite("Request resolution")
struct RequestResolutionTests {
    let resolver: RequestResolver

    init() throws { resolver = try EngineFixtures.resolver() }

    // MARK: Environment

    @Test func environmentIsSortedByName() throws {
        let env = try resolver.environment(["B": "2", "A": "1", "EMPTY": "", "EQ": "a=b"])
        #expect(env.map(\.key) == ["A", "B", "EMPTY", "EQ"])
        #expect(env.map(\.value) == ["1", "2", "", "a=b"])
    }

    @Test(arguments: [
        (["": "x"], "empty"),
        (["A=B": "x"], "contains '='"),
        (["=": "x"], "contains '='"),
        (["A\u{0}B": "x"], "NUL"),
        (["GOOD": "va\u{0}lue"], "NUL"),
    ])
    func environmentNamesAndValuesAreChecked(variables: [String: String], message: String) {
        let error = engineError { try resolver.environment(variables) }
        #expect(error?.code == .invalidRequest)
        #expect(error?.code.httpStatus == 400)
        #expect(error?.field == "environment_vars")
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "no error")")
        // The same rule through a whole execution request.
        let viaRequest = engineError { try resolver.prepare(.make("python", "print(1)") { $0.environmentVars = variables }) }
        #expect(viaRequest?.message == error?.message)
    }

    // MARK: Profiles

    @Test(arguments: ["production", "PRODUCTION", "Production"])
    func profilesAreFoundInAnyCase(name: String) throws {
        let profile = try #require(try resolver.profile(named: name))
        #expect(profile.name == "production")
        #expect(profile.policy.mode == .strict)
    }

    @Test func anUnknownProfileIsOneErrorEverywhere() {
        let direct = engineError { try resolver.profile(named: "staging") }
        #expect(direct?.code == .invalidRequest)
        #expect(direct?.field == "profile")
        #expect(direct?.message == "unknown profile 'staging'; available: development, production, testing")
        let execute = engineError { try resolver.prepare(.make("python", "print(1)") { $0.profile = "staging" }) }
        var validateRequest = ValidateRequest(code: "print(1)", language: "python")
        validateRequest.profile = "staging"
        let validate = engineError { try resolver.validation(validateRequest) }
        #expect(execute?.message == direct?.message)
        #expect(validate?.message == direct?.message)
    }

    @Test func aProfileSetsLimitsFlagsCPUShareAndPolicy() throws {
        let testing = try resolver.prepare(.make("python", "print(1)") { $0.profile = "testing" })
        #expect(testing.run.limits.timeoutSeconds == 10)
        #expect(testing.run.limits.memoryMB == 256)
        #expect(testing.run.limits.cpuPercent == 50, "seed 003's max_cpu_percent is the run's CPU share")
        #expect(testing.run.network == false)
        #expect(testing.run.writableWorkspace == false)
        #expect(testing.policyMode == .warn)
        // The request's own values win over the profile's.
        let overridden = try resolver.prepare(.make("python", "print(1)") {
            $0.profile = "testing"; $0.timeoutSeconds = 3; $0.allowNetwork = true; $0.allowFilesystem = true
        })
        #expect(overridden.run.limits.timeoutSeconds == 3)
        #expect(overridden.run.network)
        #expect(overridden.run.writableWorkspace)
        #expect(overridden.validation.allowNetwork && overridden.validation.allowFilesystem)
    }

    @Test func policyModeFollowsProfileThenStrictMode() throws {
        let production = try resolver.profile(named: "production")
        let development = try resolver.profile(named: "development")
        #expect(resolver.policyMode(profile: nil, strictMode: nil) == .off, "the fixture's configured mode")
        #expect(resolver.policyMode(profile: nil, strictMode: true) == .strict)
        #expect(resolver.policyMode(profile: production, strictMode: nil) == .strict)
        #expect(resolver.policyMode(profile: production, strictMode: false) == .warn)
        #expect(resolver.policyMode(profile: development, strictMode: nil) == .warn)
        #expect(resolver.policyMode(profile: development, strictMode: true) == .strict)
    }

    /// A profile above the server's maxima (the shipped `development` allows 60 s) is lowered to them:
    /// the operator's settings must not make a schema-valid request fail. What a request asks for
    /// itself is still checked as given.
    @Test func aProfileAboveTheServersMaximaIsLoweredToThem() throws {
        var configuration = EngineFixtures.configuration()
        configuration.maximumLimits.timeoutSeconds = 5
        configuration.maximumLimits.cpuTimeSeconds = 5
        let small = try EngineFixtures.resolver(configuration)
        let development = try small.profile(named: "development")
        #expect((development?.limits.timeoutSeconds ?? 0) > 5, "the fixture needs a profile above the maximum")
        let limits = try small.limits(profile: development, overrides: LimitOverrides())
        #expect(limits.timeoutSeconds == 5)
        #expect(throws: EngineError.self) { try small.limits(profile: development, overrides: LimitOverrides(timeoutSeconds: 60)) }
    }

    /// The operator's strict mode is a floor: no request field or profile lowers it.
    @Test func aServerConfiguredStrictStaysStrict() throws {
        var configuration = EngineFixtures.configuration()
        configuration.policyMode = .strict
        let strictServer = try EngineFixtures.resolver(configuration)
        let development = try strictServer.profile(named: "development")
        #expect(strictServer.policyMode(profile: nil, strictMode: false) == .strict)
        #expect(strictServer.policyMode(profile: development, strictMode: nil) == .strict)
        #expect(strictServer.policyMode(profile: development, strictMode: false) == .strict)
    }

    // MARK: Thresholds

    @Test(arguments: [("high", Severity.high), ("HIGH", .high), ("Low", .low), ("critical", .critical), ("MEDIUM", .medium)])
    func thresholdsParseInAnyCase(text: String, severity: Severity) throws {
        #expect(try resolver.threshold(text) == severity)
        var request = ValidateRequest(code: "print(1)", language: "python")
        request.threshold = text
        #expect(try resolver.validation(request).options.threshold == severity)
    }

    @Test func anUnknownThresholdNamesTheChoices() {
        let error = engineError { try resolver.threshold("severe") }
        #expect(error?.code == .invalidRequest)
        #expect(error?.field == "threshold")
        #expect(error?.message == "threshold must be one of low, medium, high, critical; got 'severe'")
    }

    // MARK: Limits

    @Test func everyLimitIsApplied() throws {
        let overrides = LimitOverrides(timeoutSeconds: 5, memoryMB: 128, outputBytes: 4096, processes: 8, fileSizeMB: 2, cpuPercent: 50)
        let limits = try resolver.limits(profile: nil, overrides: overrides)
        #expect(limits.timeoutSeconds == 5)
        #expect(limits.cpuTimeSeconds == nil, "the CPU time limit follows the timeout")
        #expect(limits.memoryMB == 128)
        #expect(limits.outputBytes == 4096)
        #expect(limits.processes == 8)
        #expect(limits.fileSizeMB == 2)
        #expect(limits.cpuPercent == 50)
        // The wire request's fields and a local front end's options meet in the same limits.
        var options = ExecuteOptions()
        options.limits = LimitOverrides(processes: 8, cpuPercent: 50)
        let prepared = try resolver.prepare(.make("python", "print(1)") { $0.timeoutSeconds = 5; $0.maxMemoryMb = 128 }, options: options)
        #expect(prepared.run.limits.timeoutSeconds == 5 && prepared.run.limits.memoryMB == 128)
        #expect(prepared.run.limits.processes == 8 && prepared.run.limits.cpuPercent == 50)
    }

    @Test(arguments: [
        (LimitOverrides(timeoutSeconds: 301), "timeout_seconds"),
        (LimitOverrides(timeoutSeconds: 0), "timeout_seconds"),
        (LimitOverrides(timeoutSeconds: .nan), "timeout_seconds"),
        (LimitOverrides(memoryMB: -5), "max_memory_mb"),
        (LimitOverrides(memoryMB: 4096), "max_memory_mb"),
        (LimitOverrides(outputBytes: 0), "max_output_size"),
        (LimitOverrides(processes: 0), "processes"),
        (LimitOverrides(fileSizeMB: 2000), "file_size_mb"),
        (LimitOverrides(cpuPercent: 0), "cpu_percent"),
        (LimitOverrides(cpuPercent: -1), "cpu_percent"),
        (LimitOverrides(cpuPercent: 100 * ResourceLimits.hostCores + 1), "cpu_percent"),
        (LimitOverrides(cpuPercent: Int.max), "cpu_percent"),
    ])
    func aLimitOutOfRangeIsNamedNeverClamped(overrides: LimitOverrides, name: String) {
        let error = engineError { try resolver.limits(profile: nil, overrides: overrides) }
        #expect(error?.code == .invalidLimit)
        #expect(error?.code.httpStatus == 400)
        #expect(error?.limit?.name == name)
        #expect(error?.field == name)
        #expect(error?.message.hasPrefix(name) == true, "\(error?.message ?? "")")
    }

    @Test func theCPUShareMayUseEveryCore() throws {
        let all = try resolver.limits(profile: nil, overrides: LimitOverrides(cpuPercent: 100 * ResourceLimits.hostCores))
        #expect(all.cpuPercent == 100 * ResourceLimits.hostCores)
        let error = engineError { try resolver.limits(profile: nil, overrides: LimitOverrides(cpuPercent: 100 * ResourceLimits.hostCores + 1)) }
        #expect(error?.limit?.allowed == 1...Double(100 * ResourceLimits.hostCores))
    }

    @Test func theConfiguredMaximumIsTheBound() throws {
        var configuration = EngineFixtures.configuration()
        configuration.maximumLimits.memoryMB = 256
        let strict = try EngineFixtures.resolver(configuration)
        #expect(engineError { try strict.limits(profile: nil, overrides: LimitOverrides(memoryMB: 257)) }?.limit?.allowed.upperBound == 256)
        #expect(try strict.limits(profile: nil, overrides: LimitOverrides(memoryMB: 256)).memoryMB == 256)
    }

    // MARK: Code, files, options

    @Test func theProgramIsChecked() throws {
        #expect(engineError { try resolver.prepare(.make("python", "  \n")) }?.message == "code is empty")
        #expect(engineError { try resolver.prepare(.make("cobol", "x")) }?.code == .unknownLanguage)
        #expect(engineError { try resolver.prepare(.make("python", "1") { $0.dependencies = ["numpy"] }) }?.field == "dependencies")
        var big = EngineFixtures.configuration()
        big.maxCodeBytes = 10
        let tooLarge = engineError { try EngineFixtures.resolver(big).prepare(.make("python", String(repeating: "#", count: 11))) }
        #expect(tooLarge?.code == .payloadTooLarge && tooLarge?.code.httpStatus == 413)

        var files = ExecuteOptions()
        files.files = [JailFile(path: "helper.py", contents: Array("x = 1\n".utf8))]
        #expect(engineError { try resolver.prepare(.make("python", ""), options: files) }?.message
                == "the program has no main.py, the entry point of a python program")
        files.files.append(JailFile(path: "main.py", contents: Array("import helper\n".utf8)))
        let multi = try resolver.prepare(.make("python", ""), options: files)
        #expect(multi.sources.map(\.path).sorted() == ["helper.py", "main.py"], "validation reads every source file")

        var compiler = ExecuteOptions()
        compiler.compilerOptions = ["-O2"]
        #expect(engineError { try resolver.prepare(.make("python", "print(1)"), options: compiler) }?.field == "compile_options")
        #expect(try resolver.prepare(.make("c", "int main(){return 0;}"), options: compiler).run.compilerOptions == ["-O2"])
    }

    @Test func stdinBytesAreCheckedLikeText() throws {
        var configuration = EngineFixtures.configuration()
        configuration.maxStdinBytes = 4
        let small = try EngineFixtures.resolver(configuration)
        var options = ExecuteOptions()
        options.stdin = [0, 1, 2, 3, 4]
        #expect(engineError { try small.prepare(.make("python", "1"), options: options) }?.field == "stdin_data")
        #expect(engineError { try small.prepare(.make("python", "1") { $0.stdinData = "12345" }) }?.field == "stdin_data")
        options.stdin = [0, 255, 1]
        #expect(try small.prepare(.make("python", "1"), options: options).run.stdin == [0, 255, 1], "bytes pass unchanged")
    }

    // MARK: History queries

    @Test func historyDefaultsAndAliases() throws {
        let query = try resolver.historyQuery(HistoryRequest(language: "py", status: "success"))
        #expect(query.limit == HistoryRequest.defaultLimit && query.limit == 100)
        #expect(query.offset == 0)
        #expect(query.language == "python", "an alias finds the canonical name history stores")
        #expect(try resolver.historyQuery(HistoryRequest(language: "retired-language")).language == "retired-language")
        #expect(try resolver.historyQuery(HistoryRequest(limit: 1000)).limit == 1000)
        #expect(try resolver.historyQuery(HistoryRequest(limit: 1)).limit == 1)
    }

    @Test(arguments: [
        (HistoryRequest(limit: 0), "limit"),
        (HistoryRequest(limit: 1001), "limit"),
        (HistoryRequest(limit: -1), "limit"),
        (HistoryRequest(offset: -1), "offset"),
        (HistoryRequest(status: "fine"), "status"),
        (HistoryRequest(since: "yesterday"), "since"),
        (HistoryRequest(until: "2026-13-45"), "until"),
    ])
    func aBadHistoryQueryNamesItsParameter(request: HistoryRequest, field: String) {
        let error = engineError { try resolver.historyQuery(request) }
        #expect(error?.code == .invalidRequest)
        #expect(error?.field == field, "\(error?.message ?? "accepted")")
    }

    /// An inverted range is a valid query (the OpenAPI schema cannot relate two parameters) that matches nothing.
    @Test func anInvertedTimeRangeIsAcceptedAndMatchesNothing() async throws {
        let query = try resolver.historyQuery(HistoryRequest(since: "2026-01-02T00:00:00Z", until: "2026-01-01T00:00:00Z"))
        #expect(query.since! > query.until!)
    }

    @Test func historyTimesParseAsISO8601OrUnixSeconds() throws {
        let iso = try resolver.historyQuery(HistoryRequest(since: "2026-01-01T00:00:00Z"))
        let fractional = try resolver.historyQuery(HistoryRequest(since: "2026-01-01T00:00:00.000Z"))
        let unix = try resolver.historyQuery(HistoryRequest(since: "1767225600"))
        #expect(iso.since == Date(timeIntervalSince1970: 1_767_225_600))
        #expect(fractional.since == iso.since)
        #expect(unix.since == iso.since)
    }

    @Test func historyURLParametersAreParsedOnce() throws {
        let request = try HistoryRequest(parameters: ["limit": "5", "offset": "10", "language": "python", "until": "1767225600"])
        #expect(request == HistoryRequest(language: "python", until: "1767225600", limit: 5, offset: 10))
        #expect(throws: EngineError.self) { try HistoryRequest(parameters: ["limit": "ten"]) }
        let error = engineError { try HistoryRequest(parameters: ["offset": "1.5"]) }
        #expect(error?.field == "offset")
        #expect(error?.message == "offset must be a whole number, got '1.5'")
    }
}
