import CorralTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The batch route through `corral serve` of the *release* build, as `scripts/bootstrap` makes it.
/// The batch crash was a release-only miscompile (children of the task group reported an index
/// they never wrote): the in-process HTTP tests, built for debugging, cannot see that class of bug.
/// Runs when `.build/release/corral` is newer than every source file (always under CI, where
/// bootstrap builds it from the same tree just before the tests), or on `CORRAL_RELEASE_BINARY`.
@Suite("Release build", .enabled(if: TestSupport.jailsAvailable && ReleaseServer.binary != nil))
struct ReleaseBatchTests {
    /// `corral serve`'s largest batch (HTTPConfiguration.maxBatchSize; no flag sets it).
    static let maxBatchSize = 64

    @Test("batches of 1 to 64 mixed-language items, 20 rounds, through the release server")
    func repeatedMixedBatches() async throws {
        let server = try await ReleaseServer.start()
        defer { server.stop() }
        for round in MixedBatch.sizes.indices {
            let items = Array(MixedBatch.round(round).prefix(Self.maxBatchSize))
            let size = items.count
            let status: Int, body: [String: Any]
            do { (status, body) = try await server.post("/v1/execute/batch", ["requests": items.map(\.request)]) } catch {
                Issue.record("round \(round): no answer (\(error)); the server \(server.isRunning ? "still runs" : "died"): \(server.log().suffix(3000))")
                return
            }
            #expect(status == 200, "round \(round): \(status) \(body)")
            let results = body["results"] as? [[String: Any]] ?? []
            #expect(results.count == size, "round \(round): \(results.count) results for \(size) items")
            for (index, result) in results.enumerated() {
                #expect(result["stdout"] as? String == items[index].stdout, "round \(round) item \(index): \(result)")
            }
            #expect(server.isRunning, "round \(round): the server died: \(server.log())")
            if !server.isRunning { return }
        }
    }
}

/// `corral serve` of the release build on a free port, with an in-memory history.
final class ReleaseServer {
    /// The release binary, when it is at least as new as every source file; or `CORRAL_RELEASE_BINARY`.
    static let binary: URL? = {
        if let path = ProcessInfo.processInfo.environment["CORRAL_RELEASE_BINARY"] { return URL(fileURLWithPath: path) }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let binary = root.appendingPathComponent(".build/release/corral")
        let fm = FileManager.default
        guard let built = (try? fm.attributesOfItem(atPath: binary.path))?[.modificationDate] as? Date else { return nil }
        let sources = fm.enumerator(atPath: root.appendingPathComponent("Sources").path)
        while let path = sources?.nextObject() as? String {
            let file = root.appendingPathComponent("Sources").appendingPathComponent(path).path
            if let changed = (try? fm.attributesOfItem(atPath: file))?[.modificationDate] as? Date, changed > built { return nil }
        }
        return binary
    }()

    let process: Process
    let port: Int
    let directory: URL

    private init(process: Process, port: Int, directory: URL) {
        self.process = process; self.port = port; self.directory = directory
    }

    var isRunning: Bool { process.isRunning }

    /// What the server logged (its stderr).
    func log() -> String {
        String(decoding: (try? Data(contentsOf: directory.appendingPathComponent("stderr"))) ?? Data(), as: UTF8.self)
    }

    /// Starts `binary serve` (the release build unless told) with `extra` arguments.
    static func start(binary chosen: URL? = ReleaseServer.binary, extra: [String] = []) async throws -> ReleaseServer {
        guard let binary = chosen else { throw CorralCLI.CLITestError("no up-to-date release build; run scripts/bootstrap") }
        let dir = try CorralCLI.temporaryDirectory()
        let log = dir.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = binary
        process.arguments = ["serve", "--port", "0", "--history", "memory", "--workers", "2", "--queue", "256",
                             "--data-dir", dir.path] + extra
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        // The port comes from the "listening" log line: {"url":"http://127.0.0.1:PORT",...}.
        for _ in 0..<300 {
            let text = String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self)
            if let range = text.range(of: #"http://127\.0\.0\.1:[0-9]+"#, options: .regularExpression),
               let port = Int(text[range].split(separator: ":").last ?? "") {
                return ReleaseServer(process: process, port: port, directory: dir)
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        process.terminate()
        throw CorralCLI.CLITestError("the release server did not start: \(String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self))")
    }

    func post(_ path: String, _ json: [String: Any]) async throws -> (Int, [String: Any]) {
        guard let url = URL(string: "http://127.0.0.1:\(port)\(path)") else { throw CorralCLI.CLITestError("bad path \(path)") }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: json)
        request.timeoutInterval = 300
        let (data, response) = try await URLSession.shared.data(for: request)
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, object)
    }

    /// SIGTERM, then waits for the drain; removes the data directory.
    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }
}
