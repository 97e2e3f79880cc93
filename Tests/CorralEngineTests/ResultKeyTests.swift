@testable import CorralEngine
import CorralSandbox
import Testing

/// The result cache key changes with every input that can change a result, and only with them.
@Suite("Result cache key")
struct ResultKeyTests {
    let resolver: RequestResolver
    static let base = ExecuteRequest.make("python", "import sys\nprint(sys.stdin.read())") {
        $0.stdinData = "in"; $0.environmentVars = ["A": "1", "B": "2"]; $0.args = ["x", "y"]
    }

    init() throws { resolver = try EngineFixtures.resolver() }

    func key(_ request: ExecuteRequest = base, options: ExecuteOptions = ExecuteOptions(), version: String = "3.11.2") throws -> String {
        ResultKey.make(try resolver.prepare(request, options: options), toolchainVersion: version)
    }

    func key(_ tweak: (inout ExecuteRequest) -> Void) throws -> String {
        var request = Self.base
        tweak(&request)
        return try key(request)
    }

    func key(limits: LimitOverrides) throws -> String {
        var options = ExecuteOptions()
        options.limits = limits
        return try key(options: options)
    }

    @Test func identicalRequestsShareAKey() throws {
        #expect(try key() == key())
        // Dictionary order is not an input: the environment is sorted first.
        let reordered = try key { $0.environmentVars = ["B": "2", "A": "1"] }
        #expect(reordered == (try key()))
        // Neither is who asks, nor the policy fields (a refusal is never cached).
        #expect(try key { $0.priority = .critical; $0.useCache = true; $0.strictMode = false } == key())
    }

    @Test func everyInputChangesTheKey() throws {
        var filesOption = ExecuteOptions()
        filesOption.files = [JailFile(path: "data.txt", contents: Array("1".utf8))]
        var executableFile = filesOption
        executableFile.files[0].executable = true
        var cOptions = ExecuteOptions()
        cOptions.compilerOptions = ["-O2"]
        let c = ExecuteRequest.make("c", "int main(void){return 0;}")
        let writableByDefault = try resolver.prepare(Self.base).run.writableWorkspace

        let variants: [(String, String)] = [
            ("base", try key()),
            ("language version", try key(version: "3.12.0")),
            ("code", try key { $0.code += " " }),
            ("stdin", try key { $0.stdinData = "other" }),
            ("stdin absent", try key { $0.stdinData = nil }),
            ("env value", try key { $0.environmentVars = ["A": "1", "B": "3"] }),
            ("env name", try key { $0.environmentVars = ["A": "1", "C": "2"] }),
            ("env added", try key { $0.environmentVars = ["A": "1", "B": "2", "C": ""] }),
            ("args", try key { $0.args = ["x"] }),
            ("args split differently", try key { $0.args = ["x y"] }),
            ("args order", try key { $0.args = ["y", "x"] }),
            ("timeout", try key(limits: LimitOverrides(timeoutSeconds: 29))),
            ("memory", try key(limits: LimitOverrides(memoryMB: 256))),
            ("output", try key(limits: LimitOverrides(outputBytes: 1000))),
            ("processes", try key(limits: LimitOverrides(processes: 8))),
            ("file size", try key(limits: LimitOverrides(fileSizeMB: 2))),
            ("cpu percent", try key(limits: LimitOverrides(cpuPercent: 50))),
            ("network", try key { $0.allowNetwork = true }),
            ("filesystem", try key { $0.allowFilesystem = !writableByDefault }),
            ("other files", try key(options: filesOption)),
            ("exec bit", try key(options: executableFile)),
            ("c", try key(c)),
            ("compiler options", try key(c, options: cOptions)),
        ]
        var seen: [String: String] = [:]
        for (name, key) in variants {
            #expect(seen[key] == nil, "\(name) has the same key as \(seen[key] ?? "")")
            seen[key] = name
        }
    }

    /// Limits the wire cannot set (open files, workspace, /tmp, CPU time) still change the key.
    @Test func everyFieldOfResourceLimitsIsAnInput() throws {
        let prepared = try resolver.prepare(Self.base)
        let fields = ResultKey.limitFields(prepared.run.limits).map(\.0)
        #expect(fields.count == Mirror(reflecting: ResourceLimits()).children.count,
                "a new ResourceLimits field must be added to ResultKey.limitFields")
        let mutations: [(String, (inout ResourceLimits) -> Void)] = [
            ("timeout_seconds", { $0.timeoutSeconds += 1 }), ("cpu_time_seconds", { $0.cpuTimeSeconds = 1 }),
            ("max_memory_mb", { $0.memoryMB += 1 }), ("processes", { $0.processes += 1 }),
            ("max_output_size", { $0.outputBytes += 1 }), ("file_size_mb", { $0.fileSizeMB += 1 }),
            ("open_files", { $0.openFiles += 1 }), ("workspace_mb", { $0.workspaceMB += 1 }),
            ("tmp_mb", { $0.tmpMB += 1 }), ("cpu_percent", { $0.cpuPercent = 200 }),
        ]
        #expect(Set(mutations.map(\.0)) == Set(fields))
        let baseKey = ResultKey.make(prepared, toolchainVersion: "v")
        var keys: Set<String> = [baseKey]
        for (name, mutate) in mutations {
            var changed = prepared
            mutate(&changed.run.limits)
            let key = ResultKey.make(changed, toolchainVersion: "v")
            #expect(keys.insert(key).inserted, "changing \(name) must change the key")
        }
    }
}
