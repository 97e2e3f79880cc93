import CorralSandbox

/// What a local front end (the CLI) can give beyond an `ExecuteRequest`'s wire fields: a
/// multi-file program, standard input as bytes, compiler options and every limit. Resolved by
/// the same rules as the request itself.
public struct ExecuteOptions: Sendable {
    /// Other files of the program (a directory's). When the request's `code` is empty, the
    /// language's entry point (`main.py`, `Main.java`, …) must be among them.
    public var files: [JailFile] = []
    /// Standard input as bytes, instead of the request's text `stdin_data`.
    public var stdin: [UInt8]?
    /// Options for the compiler, passed literally after the sources (compiled languages only).
    public var compilerOptions: [String] = []
    /// Limits on top of the request's own.
    public var limits = LimitOverrides()

    /// The program's output as it comes (a streamed execute; a cache hit delivers it at once).
    public var onOutput: (@Sendable (OutputChunk) -> Void)?

    public init() {}
}

extension ExecuteRequest {
    /// The limits this request carries on the wire.
    var limitOverrides: LimitOverrides {
        LimitOverrides(timeoutSeconds: timeoutSeconds, memoryMB: maxMemoryMb, outputBytes: maxOutputSize, cpuPercent: cpuPercent)
    }
}
