import Foundation
import Synchronization

/// Compiles the Python analyzer to bytecode once per process. Python compiles a
/// script's source on every start (it caches bytecode only for imported modules),
/// and for the analyzer that costs more than the analysis of a typical program.
/// The jail binds the host's `/usr`, so the host's interpreter produces bytecode
/// for the very interpreter the jail runs.
enum PythonBytecode {
    /// Reads the source file named by `argv[1]`, writes a `.pyc` (magic number, zeroed header,
    /// marshalled code) on stdout.
    static let compiler = """
    import sys, marshal, _frozen_importlib_external as fie
    with open(sys.argv[1], "rb") as f:
        code = compile(f.read(), "python_analyzer.py", "exec", dont_inherit=True, optimize=2)
    sys.stdout.buffer.write(fie.MAGIC_NUMBER + bytes(12) + marshal.dumps(code))
    """

    private static let cache = Mutex<[String: [UInt8]?]>([:])

    /// `compile(file:)` once per process and file (a failure is remembered too: the source then runs).
    static func cached(file: URL) -> [UInt8]? {
        if let known = cache.withLock({ $0[file.path] }) { return known }
        let bytes = compile(file: file)
        cache.withLock { $0[file.path] = .some(bytes) }
        return bytes
    }

    /// The bytecode of the script at `file`, or `nil` when the interpreter is missing or refuses
    /// (the source then runs as is). Blocks while the interpreter runs (some 50 ms): call it at
    /// start-up, not on a request path.
    static func compile(file: URL, python: String = SyntaxTreeAnalyzer.python) -> [UInt8]? {
        guard FileManager.default.isExecutableFile(atPath: python) else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-I", "-S", "-c", compiler, file.path]
        process.environment = ["LANG": "C.UTF-8"]
        let output = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let bytes = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, bytes.count > 16 else { return nil }
        return Array(bytes)
    }
}
