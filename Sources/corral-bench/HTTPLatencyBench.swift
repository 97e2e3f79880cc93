import Foundation
import Glibc

/// `corral-bench http-latency`: one client, one keep-alive connection, requests one after
/// another to `corral serve` (its defaults): what a tiny program costs end to end over HTTP
/// with the result cache off, next to the bare interpreter started on the same machine in the
/// same run.
enum HTTPLatencyBench {
    static let pythonP50TargetMs = 5.0
    static let pythonP99TargetMs = 15.0
    static let javascriptP50TargetMs = 10.0

    static let section = BenchSection(
        name: "http-latency",
        summary: "corral serve, one keep-alive client, sequential Python and JavaScript hello world (no cache) vs bare interpreters",
        optionsHelp: [
            "--js-requests N     JavaScript requests (default: half the iterations)",
            "--bare-runs N       runs of bare python3 -c pass and node -e 0 (default 100)",
            "--corral PATH       the corral binary (default: next to corral-bench)",
            "--keep 0|1          keep the server's data directory and log (default 0)",
        ],
        iterationsMeaning: "sequential Python requests",
        defaultIterations: 500, minimumIterations: 200, quickIterations: 50, defaultWarmup: 10,
        run: { options in try await run(options) })

    struct Details: Sendable, Encodable {
        var corralBinary: String
        var serverArguments: [String]
        var targets: [BenchTarget]
        var connects: Int

        enum CodingKeys: String, CodingKey {
            case targets, connects
            case corralBinary = "corral_binary", serverArguments = "server_arguments"
        }
    }

    static func run(_ options: BenchOptions) async throws -> BenchReport {
        try options.checkSectionOptions(known: ["js-requests", "bare-runs", "corral", "keep"])
        func count(_ name: String, _ fallback: Int) throws(BenchUsageError) -> Int {
            guard let text = options.sectionOptions[name] else { return fallback }
            guard let n = Int(text), n > 0 else { throw BenchUsageError(message: "--\(name) needs a positive whole number, not '\(text)'") }
            return n
        }
        let pythonRequests = options.iterations
        let jsRequests = try count("js-requests", max(1, pythonRequests / 2))
        let bareRuns = try count("bare-runs", options.allowFewIterations ? 30 : 100)
        let keep = try options.flag("keep", default: false)
        let binary = options.sectionOptions["corral"] ?? LoadBench.corralNextToBench()

        let served = try await BenchServer.start(binary: binary, section: section.name)
        var failureMessages: [String] = []
        var results: [BenchResult] = []
        var connects = 0
        var pythonSummary: LatencySummary?, jsSummary: LatencySummary?
        do {
            let tag = served.tag
            printError("http-latency: \(options.warmup) warm-up requests per language…\n")
            for (language, code) in [("python", "print('hello, world')  # warm-up"), ("javascript", "console.log('hello, world') // warm-up")] {
                let warm = await served.sequential(count: options.warmup, expectedStdout: "hello, world\n") { i in
                    BenchServer.executeBody(language: language, code: "\(code) \(i) \(tag)", useCache: false)
                }
                if let problem = warm.problems.first {
                    throw ServerProcess.StartFailure(description: "warm-up \(language) requests failed (\(warm.failures) of \(options.warmup)): \(problem)\nserver output:\n\(served.server.logTail())")
                }
            }

            printError("http-latency: \(pythonRequests) sequential Python requests, use_cache false…\n")
            let python = await served.sequential(count: pythonRequests, expectedStdout: "hello, world\n", expectCached: false) { i in
                BenchServer.executeBody(language: "python", code: "print('hello, world')  # \(i) \(tag)", useCache: false)
            }
            printError("http-latency: \(jsRequests) sequential JavaScript requests, use_cache false…\n")
            let javascript = await served.sequential(count: jsRequests, expectedStdout: "hello, world\n", expectCached: false) { i in
                BenchServer.executeBody(language: "javascript", code: "console.log('hello, world') // \(i) \(tag)", useCache: false)
            }
            connects = python.connects + javascript.connects
            for (name, outcome, bare) in [("python hello", python, ["/usr/bin/python3", "-c", "pass"]),
                                          ("javascript hello", javascript, ["/usr/bin/node", "-e", "0"])] {
                printError("http-latency: \(bareRuns) runs of bare \(bare.joined(separator: " "))…\n")
                let bareRow = bareSummary(bare, count: bareRuns, warmup: 5)
                if let s = bareRow.summary {
                    results.append(BenchResult(workload: name, mode: "bare " + ([(bare[0] as NSString).lastPathComponent] + bare.dropFirst()).joined(separator: " "),
                                               summary: s, failures: bareRow.failures))
                }
                if let s = outcome.summary {
                    results.append(BenchResult(workload: name, mode: "HTTP, 1 client", summary: s,
                                               baselineP50: bareRow.summary?.p50, failures: outcome.failures))
                    if name.hasPrefix("python") { pythonSummary = s } else { jsSummary = s }
                }
                if outcome.failures > 0 {
                    failureMessages.append("\(name): \(outcome.failures) request(s) failed; first: \(outcome.problems.first ?? "-")")
                }
            }
        } catch {
            await served.stop(keep: true)
            throw error
        }
        await served.stop(keep: keep || !failureMessages.isEmpty)

        let targets = [
            BenchTarget(measure: "python p50", value: pythonSummary?.p50, unit: "ms", comparison: "<", limit: pythonP50TargetMs),
            BenchTarget(measure: "python p99", value: pythonSummary?.p99, unit: "ms", comparison: "<", limit: pythonP99TargetMs),
            BenchTarget(measure: "javascript p50", value: jsSummary?.p50, unit: "ms", comparison: "<", limit: javascriptP50TargetMs),
        ]
        var notes = [
            "Server: \(binary) serve \(served.arguments.joined(separator: " ")) (its defaults otherwise).",
            "Client: one thread, one keep-alive HTTP/1.1 connection, TCP_NODELAY; latency = send of the request to the last byte of the response.",
            "Bodies: {\"language\":\"python\",\"code\":\"print('hello, world')  # I TAG\",\"use_cache\":false} (distinct code each time, cache off); JavaScript: console.log('hello, world') // I TAG.",
            "ok = HTTP 200, status success, stdout \"hello, world\\n\", cached false; p50/p99 over the ok responses.",
            "bare: posix_spawn + waitpid of /usr/bin/python3 -c pass and /usr/bin/node -e 0 (\(bareRuns) runs each), stdio on /dev/null, measured after the HTTP requests.",
            "overhead/ratio of the HTTP rows are against the bare interpreter's p50.",
        ]
        if options.allowFewIterations { notes.append("QUICK RUN: \(pythonRequests) Python and \(jsRequests) JavaScript requests; percentiles are rough.") }
        return BenchReport(section: section.name, machine: MachineInfo.current(), iterations: pythonRequests, warmup: options.warmup,
                           results: results, notes: notes, tables: [BenchTarget.table(targets)],
                           details: Details(corralBinary: binary, serverArguments: served.arguments, targets: targets, connects: connects),
                           failureMessages: failureMessages)
    }
}
