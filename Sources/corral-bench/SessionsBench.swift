import CorralClient
import Foundation
import Glibc

/// `corral-bench sessions`: what a session's calls cost over HTTP on one keep-alive connection to
/// `corral serve`, next to the bare commands they stand for, in the same run: creating a session
/// (vs starting `python3`, the agent's interpreter), `exec true` (vs spawning `/bin/true`),
/// `run_code 1+1` (vs `python3 -c 1+1`), a 1 MB file written and read back (vs the same on
/// /dev/shm in-process), and a shadow session over a 20,000-file, 200 MB tree (vs a scratch one).
enum SessionsBench {
    static let createP50TargetMs = 15.0
    static let execP50TargetMs = 5.0
    static let runCodeP50TargetMs = 3.0
    static let fileP50TargetMs = 5.0
    static let shadowMountTargetMs = 50.0

    static let section = BenchSection(
        name: "sessions",
        summary: "corral serve sessions: create, exec true, run_code 1+1, 1 MB file write+read, shadow mount of 20,000 files / 200 MB",
        optionsHelp: [
            "--files N           files of the shadowed tree (default 20000; 10 KB each)",
            "--corral PATH       the corral binary (default: next to corral-bench)",
            "--keep 0|1          keep the server's data directory and log (default 0)",
        ],
        iterationsMeaning: "calls of each kind",
        defaultIterations: 200, minimumIterations: 50, quickIterations: 30, defaultWarmup: 5,
        run: { options in try await run(options) })

    struct Details: Sendable, Encodable {
        var corralBinary: String
        var serverArguments: [String]
        var targets: [BenchTarget]
        var shadowTree: String
        enum CodingKeys: String, CodingKey {
            case targets
            case corralBinary = "corral_binary", serverArguments = "server_arguments", shadowTree = "shadow_tree"
        }
    }

    struct Failed: Error, CustomStringConvertible { var description: String }

    static func run(_ options: BenchOptions) async throws -> BenchReport {
        try options.checkSectionOptions(known: ["files", "corral", "keep"])
        let fileCount = Int(options.sectionOptions["files"] ?? "") ?? 20_000
        let keep = try options.flag("keep", default: false)
        let binary = options.sectionOptions["corral"] ?? LoadBench.corralNextToBench()
        let n = options.iterations

        let tree = "/tmp/corral-bench-shadow-tree"
        printError("sessions: a \(fileCount)-file tree of 10 KB files at \(tree)…\n")
        try makeTree(tree, files: fileCount)
        let served = try await BenchServer.start(binary: binary, section: section.name, extraArguments: ["--allow-host-path", tree, "--max-sessions", "64"])
        var results: [BenchResult] = []
        var failures: [String] = []
        var figures: [String: Double] = [:]
        do {
            let port = served.port
            let outcome = try await Task.detached { try measure(port: port, iterations: n, warmup: options.warmup, tree: tree) }.value
            failures = outcome.failures
            let bareCount = max(30, n / 2)
            printError("sessions: bare baselines (\(bareCount) runs each)…\n")
            let barePython = bareSummary(["/usr/bin/python3", "-c", "pass"], count: bareCount, warmup: 3).summary
            let bareTrue = bareSummary(["/bin/true"], count: bareCount, warmup: 3).summary
            let bareEval = bareSummary(["/usr/bin/python3", "-c", "1+1"], count: bareCount, warmup: 3).summary
            let bareFile = localFileSummary(count: n)
            for (workload, mode, summary, baseline) in [
                ("create session", "HTTP POST /v1/sessions (warm pool)", outcome.create, barePython),
                ("create session", "HTTP POST, cold (disk_mb 256)", outcome.coldCreate, barePython), ("create session", "bare python3 -c pass", barePython, nil),
                ("exec true", "HTTP POST .../exec", outcome.exec, bareTrue), ("exec true", "bare /bin/true (posix_spawn)", bareTrue, nil),
                ("run_code 1+1", "HTTP POST .../run_code", outcome.runCode, bareEval), ("run_code 1+1", "bare python3 -c 1+1", bareEval, nil),
                ("file 1 MB write+read", "HTTP PUT + GET .../files", outcome.file, bareFile), ("file 1 MB write+read", "bare write+read on /dev/shm", bareFile, nil),
                ("shadow session, \(fileCount) files", "HTTP POST with mount (disk_mb 256)", outcome.shadowCreate, outcome.coldCreate),
                ("changes after 3 edits", "HTTP GET .../changes", outcome.changes, nil),
            ] as [(String, String, LatencySummary?, LatencySummary?)] {
                if let summary { results.append(BenchResult(workload: workload, mode: mode, summary: summary, baselineP50: baseline?.p50, failures: 0)) }
            }
            figures["create"] = outcome.create?.p50
            figures["exec"] = outcome.exec?.p50
            figures["run_code"] = outcome.runCode?.p50
            figures["file"] = outcome.file?.p50
            figures["cold"] = outcome.coldCreate?.p50
            if let s = outcome.shadowCreate?.p50, let c = outcome.coldCreate?.p50 { figures["mount"] = max(0, s - c) }
        } catch {
            await served.stop(keep: true)
            throw error
        }
        await served.stop(keep: keep || !failures.isEmpty)
        let targets = [
            BenchTarget(measure: "create p50", value: figures["create"], unit: "ms", comparison: "<", limit: createP50TargetMs),
            BenchTarget(measure: "exec true p50", value: figures["exec"], unit: "ms", comparison: "<", limit: execP50TargetMs),
            BenchTarget(measure: "run_code 1+1 p50", value: figures["run_code"], unit: "ms", comparison: "<", limit: runCodeP50TargetMs),
            BenchTarget(measure: "file 1 MB write+read p50", value: figures["file"], unit: "ms", comparison: "<", limit: fileP50TargetMs),
            BenchTarget(measure: "cold create p50 (no warm session fits)", value: figures["cold"], unit: "ms", comparison: "<", limit: createP50TargetMs),
            BenchTarget(measure: "shadow mount (shadow create p50 - cold create p50)", value: figures["mount"], unit: "ms", comparison: "<", limit: shadowMountTargetMs),
        ]
        let notes = [
            "Server: \(binary) serve \(served.arguments.joined(separator: " ")).",
            "Client: one thread, one keep-alive HTTP/1.1 connection; latency = send of the request to the last byte of the response.",
            "create: POST /v1/sessions {} (then DELETE, not timed), which takes a warm session when one is ready (2 kept; refilled in the background, so back-to-back creates outrun it: see p95); cold: {\"disk_mb\": 256}, which none fits; exec: {\"command\":\"true\"} in one session; run_code: {\"code\":\"1+1\"} in its default Python context (result text '2' checked).",
            "file: PUT 1 MiB of random bytes then GET them back (bytes compared), one sample per pair.",
            "shadow: POST /v1/sessions {\"mount\":{\"host_path\":TREE,\"mode\":\"shadow\"}}; its cost over a scratch create is the mount (idmapped bind + overlayfs); nothing of the tree is copied.",
            "changes: 3 files edited by one exec, then GET .../changes timed (reads the overlay's upper layer only).",
        ]
        return BenchReport(section: section.name, machine: MachineInfo.current(), iterations: n, warmup: options.warmup,
                           results: results, notes: notes, tables: [BenchTarget.table(targets)],
                           details: Details(corralBinary: binary, serverArguments: served.arguments, targets: targets,
                                            shadowTree: "\(fileCount) files × 10 KB at \(tree)"),
                           failureMessages: failures)
    }

    struct Outcome {
        var create: LatencySummary?, coldCreate: LatencySummary?, exec: LatencySummary?, runCode: LatencySummary?, file: LatencySummary?
        var shadowCreate: LatencySummary?, changes: LatencySummary?
        var failures: [String] = []
    }

    /// Runs on a thread of its own (blocking I/O).
    static func measure(port: Int, iterations n: Int, warmup: Int, tree: String) throws -> Outcome {
        let c = HTTPConnection(port: port, timeout: 60)
        var outcome = Outcome()
        func json(_ object: [String: Any]) -> [UInt8] { Array((try? JSONSerialization.data(withJSONObject: object)) ?? Data()) }
        func timed(_ body: () throws -> HTTPConnection.Response) throws -> (Double, HTTPConnection.Response) {
            let start = SpawnTimer.monotonicNanoseconds()
            let r = try body()
            return (Double(SpawnTimer.monotonicNanoseconds() - start) / 1e6, r)
        }
        func object(_ r: HTTPConnection.Response) -> [String: Any] { (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:] }
        func create(_ body: [String: Any]) throws -> (Double, String) {
            let (ms, r) = try timed { try c.request("POST", "/v1/sessions", body: json(body)) }
            guard r.status == 200, let id = object(r)["session_id"] as? String else { throw Failed(description: "create answered \(r.status): \(r.text)") }
            return (ms, id)
        }

        printError("sessions: \(n) creates…\n")
        var samples: [Double] = []
        for i in 0..<(n + warmup) {
            let (ms, id) = try create([:])
            if i >= warmup { samples.append(ms) }
            _ = try c.request("DELETE", "/v1/sessions/\(id)")
        }
        outcome.create = LatencySummary(milliseconds: samples)

        // A workspace size other than the default never takes a warm session: a jail and an agent each time.
        let coldRuns = max(20, n / 4)
        printError("sessions: \(coldRuns) cold creates (disk_mb 256)…\n")
        samples = []
        for i in 0..<(coldRuns + 2) {
            let (ms, id) = try create(["disk_mb": 256])
            if i >= 2 { samples.append(ms) }
            _ = try c.request("DELETE", "/v1/sessions/\(id)")
        }
        outcome.coldCreate = LatencySummary(milliseconds: samples)

        let (_, id) = try create([:])
        printError("sessions: \(n) exec true, run_code 1+1, file write+read in \(id)…\n")
        samples = []
        for i in 0..<(n + warmup) {
            let (ms, r) = try timed { try c.request("POST", "/v1/sessions/\(id)/exec", body: json(["command": "true"])) }
            guard r.status == 200, object(r)["status"] as? String == "success" else { throw Failed(description: "exec answered \(r.status): \(r.text)") }
            if i >= warmup { samples.append(ms) }
        }
        outcome.exec = LatencySummary(milliseconds: samples)
        samples = []
        for i in 0..<(n + warmup) {
            let (ms, r) = try timed { try c.request("POST", "/v1/sessions/\(id)/run_code", body: json(["code": "1+1"])) }
            guard r.status == 200, (object(r)["result"] as? [String: Any])?["text"] as? String == "2" else { throw Failed(description: "run_code answered \(r.status): \(r.text)") }
            if i >= warmup { samples.append(ms) }
        }
        outcome.runCode = LatencySummary(milliseconds: samples)
        samples = []
        let megabyte = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255) }
        for i in 0..<(n + warmup) {
            let start = SpawnTimer.monotonicNanoseconds()
            let put = try c.request("PUT", "/v1/sessions/\(id)/files?path=data.bin", body: megabyte, contentType: "application/octet-stream")
            let get = try c.request("GET", "/v1/sessions/\(id)/files?path=data.bin")
            let ms = Double(SpawnTimer.monotonicNanoseconds() - start) / 1e6
            guard put.status == 200, get.status == 200, get.body == megabyte else { throw Failed(description: "file write+read answered \(put.status)/\(get.status)") }
            if i >= warmup { samples.append(ms) }
        }
        outcome.file = LatencySummary(milliseconds: samples)
        _ = try c.request("DELETE", "/v1/sessions/\(id)")

        let shadowRuns = max(20, n / 4)
        printError("sessions: \(shadowRuns) shadow sessions over \(tree)…\n")
        samples = []
        var changes: [Double] = []
        for i in 0..<(shadowRuns + 2) {
            let (ms, sid) = try create(["mount": ["host_path": tree, "mode": "shadow"], "disk_mb": 256])
            if i >= 2 { samples.append(ms) }
            if i < 10 {
                let edit = try c.request("POST", "/v1/sessions/\(sid)/exec", body: json(["command": "echo x >> d0/f0 && echo y >> d1/f1 && echo z >> d2/f2"]))
                guard edit.status == 200 else { throw Failed(description: "edit answered \(edit.status): \(edit.text)") }
                let (cms, r) = try timed { try c.request("GET", "/v1/sessions/\(sid)/changes") }
                guard r.status == 200, (object(r)["changes"] as? [Any])?.count == 3 else { throw Failed(description: "changes answered \(r.status): \(r.text)") }
                changes.append(cms)
            }
            _ = try c.request("DELETE", "/v1/sessions/\(sid)")
        }
        outcome.shadowCreate = LatencySummary(milliseconds: samples)
        outcome.changes = LatencySummary(milliseconds: changes)
        return outcome
    }

    /// `files` files of 10 KB in 100 directories (made once; reused when it is already there).
    static func makeTree(_ root: String, files: Int) throws {
        let marker = root + "/.complete-\(files)"
        if FileManager.default.fileExists(atPath: marker) { return }
        try? FileManager.default.removeItem(atPath: root)
        let block = [UInt8](repeating: UInt8(ascii: "a"), count: 10 * 1024)
        for i in 0..<files {
            let dir = root + "/d\(i % 100)"
            if i < 100 { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            guard FileManager.default.createFile(atPath: dir + "/f\(i / 100)", contents: Data(block)) else {
                throw Failed(description: "cannot write the shadow tree at \(dir)")
            }
        }
        FileManager.default.createFile(atPath: marker, contents: nil)
    }

    /// 1 MiB written to and read back from /dev/shm, in-process: the floor of a file round trip.
    static func localFileSummary(count: Int) -> LatencySummary? {
        let bytes = Data((0..<(1 << 20)).map { _ in UInt8.random(in: 0...255) })
        let path = "/dev/shm/corral-bench-\(getpid())"
        defer { unlink(path) }
        var samples: [Double] = []
        for _ in 0..<count {
            let start = SpawnTimer.monotonicNanoseconds()
            guard FileManager.default.createFile(atPath: path, contents: bytes), FileManager.default.contents(atPath: path) == bytes else { continue }
            samples.append(Double(SpawnTimer.monotonicNanoseconds() - start) / 1e6)
        }
        return samples.isEmpty ? nil : LatencySummary(milliseconds: samples)
    }
}
