import CorralEngine
import CorralHTTP
import CorralTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Schemathesis (PyPI, installed into `.venv/` by `scripts/bootstrap`) against a live server and
/// the `/openapi.json` it serves: examples, boundary values (coverage), random valid and invalid
/// requests (fuzzing) and call sequences (stateful), with every check on — statuses and fields the
/// document does not name, valid requests refused, invalid ones accepted, 5xx, 405 without `Allow`.
///
/// The server's maxima are lowered (a 5 s timeout, batches of 4) so that random programs stay
/// short; the document states those maxima, so nothing is excluded. The schema is given as a file:
/// loaded from its own URL, Schemathesis leaves `GET /openapi.json` out of the run.
@Suite(.enabled(if: TestSupport.jailsAvailable))
struct SchemathesisTests {
    /// `.venv/bin/schemathesis` at the package root.
    static let executable = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".venv/bin/schemathesis")
    /// Fixed, so that a failure reproduces (`st replay` prints the case); change it to explore.
    static let seed = "20261130"
    static let examplesPerOperation = "50"
    static let examplesPerSessionOperation = 10

    @Test("schemathesis finds no response that breaks /openapi.json, and tests every route")
    func conformance() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.executable.path) else {
            Issue.record("schemathesis is not installed at \(Self.executable.path): run scripts/bootstrap")
            return
        }
        // The code agent against a scripted model that answers at once: /v1/agent/runs and
        // /schedule's {task} are fuzzed as a server with a model serves them.
        let model = try ScriptedModel([.code("final_answer('fuzzed')")])
        defer { model.stop() }
        let agent = try AgentRouteTests.agent(model)
        let service = try TestService(workers: 2, queue: 64, maxBatchSize: 4) { configuration in
            configuration.codeAgent = agent
            // Defaults and profiles within the lowered maxima, as `corral serve`'s are within its own.
            for limits in [\EngineConfiguration.maximumLimits, \.defaultLimits] {
                configuration[keyPath: limits].timeoutSeconds = 5
                configuration[keyPath: limits].cpuTimeSeconds = 5
            }
            for name in configuration.profiles.keys { configuration.profiles[name]?.limits.timeoutSeconds = 5 }
        }
        try await service.live { client in
            let port = try #require(client.port)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("corral-schemathesis-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let schema = directory.appendingPathComponent("openapi.json")
            let document = try await client.execute(uri: "/openapi.json", method: .get) { Data(buffer: $0.body) }
            try document.write(to: schema)
            // 410 Gone answers any request on a session the run created and that expired (its idle TTL).
            // Session and task routes start jails and interpreters: fewer random examples keep the run short
            // (the coverage phase still sends every boundary case the document defines).
            let config = directory.appendingPathComponent("schemathesis.toml")
            try """
                [checks.positive_data_acceptance]
                expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "410", "429", "5xx"]

                [checks.negative_data_rejection]
                expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "410", "415", "422", "428", "429", "5xx"]

                [[operations]]
                include-path-regex = "^/(v1/sessions|v1/tasks|schedule|status|jobs)"
                generation = { max-examples = \(Self.examplesPerSessionOperation) }

                # An upload is any bytes to the document (a zip has no schema); bytes that are not a zip are a 400.
                [[operations]]
                include-name = "POST /v1/sessions/{id}/archive"
                [operations.checks.positive_data_acceptance]
                expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "410", "413", "429", "5xx"]

                # A WebSocket path: asked without the upgrade (all an HTTP tool can do), it answers 400 saying so.
                [[operations]]
                include-name = "GET /v1/sessions/{id}/processes/{pid}/connect"
                [operations.checks.positive_data_acceptance]
                expected-statuses = ["2xx", "400", "401", "404", "410"]

                # The Jupyter proxy passes Jupyter's own answer through, whatever its status (the document's
                # `default` response says so): Jupyter answers 405 to a method a page does not take, 400/403
                # to bodies and XSRF checks of its own.
                [[operations]]
                include-path-regex = "/jupyter/[{]path[}]$"
                [operations.checks.positive_data_acceptance]
                expected-statuses = ["2xx", "3xx", "4xx", "5xx"]

                # A batch's items together may ask for the output one request may: each item's maximum is in
                # the document, their sum cannot be. Items over it together are a 400 naming the rule.
                [[operations]]
                include-path-regex = "^/v1/execute/batch$"
                [operations.checks.positive_data_acceptance]
                expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "410", "429", "5xx"]

                # A task's gui steps: each `type` action may hold 10,000 characters (in the document), the
                # actions of one step together 10,000 too (they type 12 ms apart), a sum the document cannot
                # state: more is a 400 naming the action.
                [[operations]]
                include-name = "POST /v1/tasks"
                [operations.checks.positive_data_acceptance]
                expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "410", "429", "5xx"]

                # A session's command is waited for until it ends or reaches its timeout_seconds (30 s by
                # default, up to an hour, as the document says): a long answer is the command's own time.
                # Stateful runs re-send commands they saw listed (Jupyter's start, then in the foreground).
                [[operations]]
                include-path-regex = "^/v1/sessions/[{]id[}]/(exec|run_code|desktop/actions|jupyter)$"
                checks.max_response_time = 3700

                # Points are checked against the session's own screen (its width and height), which the
                # document cannot know: a point off it is a 400 naming it.
                [[operations]]
                include-path-regex = "/desktop/(actions|screenshot)$"
                [operations.checks.positive_data_acceptance]
                expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "410", "429", "5xx"]
                """.write(to: config, atomically: true, encoding: .utf8)
            let (status, output) = try await Self.runSchemathesis([
                "--config-file", config.path, "run", schema.path, "--url", "http://127.0.0.1:\(port)",
                "--checks", "all", "--max-examples", Self.examplesPerOperation, "--seed", Self.seed,
                "--workers", "1", "--request-timeout", "60", "--generation-database", "none", "--no-color",
            ], in: directory)
            let tail = String(output.suffix(12_000))
            #expect(status == 0, "schemathesis failed (exit \(status)):\n\(tail)")
            let routes = APIRoute.all.count
            #expect(output.contains("Selected: \(routes)/\(routes)") && output.contains("Tested: \(routes)"),
                    "every route must be tested, none left out:\n\(tail)")
        }
    }

    /// Runs schemathesis to its end (at most 4 minutes) on a thread of its own: its wait must not
    /// hold a thread of the cooperative pool that the server under test needs.
    static func runSchemathesis(_ arguments: [String], in directory: URL) async throws -> (Int32, String) {
        try await HTTPPost.onDedicatedThread {
            let process = Process()
            process.executableURL = executable
            process.arguments = arguments
            process.currentDirectoryURL = directory
            var environment = ProcessInfo.processInfo.environment
            environment["NO_COLOR"] = "1"
            process.environment = environment
            let log = directory.appendingPathComponent("schemathesis.log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            process.standardOutput = handle
            process.standardError = handle
            process.standardInput = FileHandle.nullDevice
            try process.run()
            let deadline = Date().addingTimeInterval(240)
            while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }
            if process.isRunning { process.terminate(); process.waitUntilExit() }
            try handle.close()
            let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            return (process.terminationReason == .exit ? process.terminationStatus : -1, output)
        }
    }
}
