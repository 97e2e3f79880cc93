import CorralClient
import Foundation

/// `corral-bench desktop`: what a session's desktop costs over HTTP on one keep-alive connection to
/// `corral serve` (docs/desktop.md): a desktop session's start to its first screenshot, an action's
/// round trip, and a whole-screen screenshot.
enum DesktopBench {
    static let startToScreenshotP50TargetMs = 1000.0
    static let actionP50TargetMs = 50.0

    static let section = BenchSection(
        name: "desktop",
        summary: "corral serve desktops: session start to first screenshot, an action's round trip, a screenshot",
        optionsHelp: [
            "--width N           the screen's width (default 1024)",
            "--height N          the screen's height (default 768)",
            "--corral PATH       the corral binary (default: next to corral-bench)",
            "--keep 0|1          keep the server's data directory and log (default 0)",
        ],
        iterationsMeaning: "desktop sessions started, and actions and screenshots in one of them",
        defaultIterations: 30, minimumIterations: 10, quickIterations: 10, defaultWarmup: 2,
        run: { options in try await run(options) })

    struct Details: Sendable, Encodable {
        var corralBinary: String
        var serverArguments: [String]
        var screen: String
        var targets: [BenchTarget]
        enum CodingKeys: String, CodingKey {
            case screen, targets
            case corralBinary = "corral_binary", serverArguments = "server_arguments"
        }
    }

    struct Failed: Error, CustomStringConvertible { var description: String }

    static func run(_ options: BenchOptions) async throws -> BenchReport {
        try options.checkSectionOptions(known: ["width", "height", "corral", "keep"])
        let width = Int(options.sectionOptions["width"] ?? "") ?? 1024, height = Int(options.sectionOptions["height"] ?? "") ?? 768
        guard (320...3840).contains(width), (200...2160).contains(height) else {
            throw Failed(description: "--width must be 320 to 3840 and --height 200 to 2160, got \(width)x\(height)")
        }
        let keep = try options.flag("keep", default: false)
        let binary = options.sectionOptions["corral"] ?? LoadBench.corralNextToBench()
        let served = try await BenchServer.start(binary: binary, section: section.name)
        let outcome: Outcome
        do {
            let port = served.port, n = options.iterations, warmup = options.warmup
            outcome = try await Task.detached { try measure(port: port, iterations: n, warmup: warmup, width: width, height: height) }.value
        } catch {
            await served.stop(keep: true)
            throw error
        }
        await served.stop(keep: keep)
        var results: [BenchResult] = []
        for (workload, mode, summary) in [
            ("desktop session start to first screenshot", "HTTP POST /v1/sessions {desktop} + GET .../desktop/screenshot", outcome.start),
            ("action round trip", "HTTP POST .../desktop/actions [move]", outcome.action),
            ("screenshot \(width)x\(height)", "HTTP GET .../desktop/screenshot", outcome.screenshot),
        ] as [(String, String, LatencySummary?)] {
            if let summary { results.append(BenchResult(workload: workload, mode: mode, summary: summary, baselineP50: nil, failures: 0)) }
        }
        let targets = [
            BenchTarget(measure: "desktop session start to first screenshot p50", value: outcome.start?.p50, unit: "ms", comparison: "<",
                        limit: startToScreenshotP50TargetMs),
            BenchTarget(measure: "action round trip p50", value: outcome.action?.p50, unit: "ms", comparison: "<", limit: actionP50TargetMs),
        ]
        let notes = [
            "Server: \(binary) serve \(served.arguments.joined(separator: " ")).",
            "Client: one thread, one keep-alive HTTP/1.1 connection; latency = send of the first request to the last byte of the last response.",
            "start: POST /v1/sessions {\"desktop\": {\"width\": \(width), \"height\": \(height)}} (answers once Xvfb does; twm starts in the background), "
                + "then GET .../desktop/screenshot (a PNG, checked); then DELETE, not timed. It takes a warm jail when one is ready (as any create with the default disk; refilled in the background), "
                + "then starts Xvfb in it and waits until it answers.",
            "action: POST .../desktop/actions {\"actions\": [{\"type\": \"move\", ...}]} to a new point each time, in one session (one xdotool command in the jail).",
            "screenshot: the whole screen, xwd in the jail piped to a PNG encoder in the jail, base64 back over the session's channel.",
        ]
        return BenchReport(section: section.name, machine: MachineInfo.current(), iterations: options.iterations, warmup: options.warmup,
                           results: results, notes: notes, tables: [BenchTarget.table(targets)],
                           details: Details(corralBinary: binary, serverArguments: served.arguments, screen: "\(width)x\(height)x24", targets: targets),
                           failureMessages: [])
    }

    struct Outcome {
        var start: LatencySummary?, action: LatencySummary?, screenshot: LatencySummary?
    }

    /// Runs on a thread of its own (blocking I/O).
    static func measure(port: Int, iterations n: Int, warmup: Int, width: Int, height: Int) throws -> Outcome {
        let c = HTTPConnection(port: port, timeout: 60)
        var outcome = Outcome()
        func json(_ object: [String: Any]) -> [UInt8] { Array((try? JSONSerialization.data(withJSONObject: object)) ?? Data()) }
        func object(_ r: HTTPConnection.Response) -> [String: Any] { (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:] }
        func now() -> UInt64 { SpawnTimer.monotonicNanoseconds() }
        func screenshot(_ id: String) throws {
            let r = try c.request("GET", "/v1/sessions/\(id)/desktop/screenshot")
            guard r.status == 200, r.body.starts(with: [0x89, 0x50, 0x4e, 0x47]) else { throw Failed(description: "screenshot answered \(r.status): \(r.text.prefix(300))") }
        }
        func create() throws -> String {
            let r = try c.request("POST", "/v1/sessions", body: json(["desktop": ["width": width, "height": height]]))
            guard r.status == 200, let id = object(r)["session_id"] as? String else { throw Failed(description: "create answered \(r.status): \(r.text.prefix(300))") }
            return id
        }

        printError("desktop: \(n) desktop sessions, start to first screenshot…\n")
        var samples: [Double] = []
        for i in 0..<(n + warmup) {
            let start = now()
            let id = try create()
            try screenshot(id)
            if i >= warmup { samples.append(Double(now() - start) / 1e6) }
            _ = try c.request("DELETE", "/v1/sessions/\(id)")
        }
        outcome.start = LatencySummary(milliseconds: samples)

        let id = try create()
        let count = max(n, 50)
        printError("desktop: \(count) actions and \(n) screenshots in \(id)…\n")
        samples = []
        for i in 0..<(count + warmup) {
            let action = ["type": "move", "x": (i * 37) % width, "y": (i * 23) % height] as [String: Any]
            let start = now()
            let r = try c.request("POST", "/v1/sessions/\(id)/desktop/actions", body: json(["actions": [action]]))
            let ms = Double(now() - start) / 1e6
            guard r.status == 200, object(r)["performed"] as? Int == 1 else { throw Failed(description: "actions answered \(r.status): \(r.text.prefix(300))") }
            if i >= warmup { samples.append(ms) }
        }
        outcome.action = LatencySummary(milliseconds: samples)
        samples = []
        for i in 0..<(n + warmup) {
            let start = now()
            try screenshot(id)
            if i >= warmup { samples.append(Double(now() - start) / 1e6) }
        }
        outcome.screenshot = LatencySummary(milliseconds: samples)
        _ = try c.request("DELETE", "/v1/sessions/\(id)")
        return outcome
    }
}
