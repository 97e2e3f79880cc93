import Foundation

/// Runs the built `corral` executable the way a user does and captures what it printed.
enum CorralCLI {
    struct Output {
        var exitCode: Int32
        var stdout: String
        var stderr: String

        /// stderr split into lines (a final newline ends the last line; it does not start another).
        var stderrLines: [Substring] {
            var lines = stderr.split(separator: "\n", omittingEmptySubsequences: false)
            if lines.last == "" { lines.removeLast() }
            return lines
        }

        /// stdout as one JSON object.
        func jsonObject() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any] else {
                throw CLITestError("stdout is not a JSON object: \(stdout)")
            }
            return object
        }
    }

    struct CLITestError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// The `corral` built next to this test bundle (any `--scratch-path`), or `CORRAL_BINARY`.
    static let binary: URL? = {
        let fm = FileManager.default
        if let path = ProcessInfo.processInfo.environment["CORRAL_BINARY"] { return URL(fileURLWithPath: path) }
        // The test runner lives in the build products directory, beside the executables.
        var candidates: [URL] = []
        if let exe = try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        if let bundle = Bundle.main.executableURL { candidates.append(bundle.deletingLastPathComponent()) }
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        // Last resort: the default build directory of the package this file belongs to.
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(packageRoot.appendingPathComponent(".build/debug"))
        return candidates.map { $0.appendingPathComponent("corral") }.first { fm.isExecutableFile(atPath: $0.path) }
    }()

    /// Runs `corral arguments` with `stdin` and extra environment; waits without blocking a thread of the pool.
    static func run(_ arguments: [String], stdin: Data = Data(), environment: [String: String] = [:]) async throws -> Output {
        guard let binary else {
            throw CLITestError("the corral executable was not found next to the test bundle; build it (swift build) or set CORRAL_BINARY")
        }
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Files, not pipes: nothing can fill up while the process runs.
        let files = ["stdin", "stdout", "stderr"].map { dir.appendingPathComponent($0) }
        try stdin.write(to: files[0])
        FileManager.default.createFile(atPath: files[1].path, contents: nil)
        FileManager.default.createFile(atPath: files[2].path, contents: nil)
        let input = try FileHandle(forReadingFrom: files[0])
        let output = try FileHandle(forWritingTo: files[1])
        let errors = try FileHandle(forWritingTo: files[2])
        defer { try? input.close(); try? output.close(); try? errors.close() }

        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = dir
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "CORRAL_LANGUAGES")
        env.removeValue(forKey: "CORRAL_DEBUG")
        env.merge(environment) { $1 }
        process.environment = env
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        if process.terminationReason == .uncaughtSignal {
            throw CLITestError("corral \(arguments) died of signal \(status)")
        }
        return Output(exitCode: status,
                      stdout: String(decoding: try Data(contentsOf: files[1]), as: UTF8.self),
                      stderr: String(decoding: try Data(contentsOf: files[2]), as: UTF8.self))
    }

    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}
