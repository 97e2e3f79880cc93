/// Why a request to a service jail got no reply. The worker that failed is
/// gone by the time the caller sees this: the next request gets a fresh one.
public struct ServiceFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable reason. Designed to grow: switch with a `default`.
    public struct Code: RawRepresentable, Sendable, Hashable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// No jail could be started for the program (setup failed, no identity left, shut down).
        public static let unavailable = Code(rawValue: "unavailable")
        /// The reply did not come before the request's deadline; the worker was killed.
        public static let timeout = Code(rawValue: "timeout")
        /// The worker's jail went over its memory limit and the kernel killed it.
        public static let memoryLimit = Code(rawValue: "memory_limit")
        /// The program died of a signal (`signal` says which).
        public static let crashed = Code(rawValue: "crashed")
        /// The program exited, or closed its output, before replying (`exitCode` when it exited).
        public static let exited = Code(rawValue: "exited")
        /// The reply's frame announced more than the pool's reply limit.
        public static let oversizedReply = Code(rawValue: "oversized_reply")
        /// The reply arrived whole but the caller could not read it.
        public static let malformedReply = Code(rawValue: "malformed_reply")
        /// The request was larger than the pool accepts (nothing was sent).
        public static let oversizedRequest = Code(rawValue: "oversized_request")
        /// The caller's task was cancelled; the worker was killed.
        public static let cancelled = Code(rawValue: "cancelled")
    }

    public var code: Code
    /// What happened, in words (with the limit or the program's last words when known).
    public var message: String
    public var signal: Int?
    public var exitCode: Int?
    /// The last bytes the program wrote to its stderr (at most 400), for the failure's message.
    public var stderrTail: String
    /// Requests the failed worker had answered before this one (nil when no worker was reached):
    /// a worker that had served others may have failed of its own history rather than of this request.
    public var servedBefore: Int?

    public init(_ code: Code, _ message: String, signal: Int? = nil, exitCode: Int? = nil, stderrTail: String = "") {
        self.code = code
        self.message = message
        self.signal = signal
        self.exitCode = exitCode
        self.stderrTail = stderrTail
    }

    public var description: String {
        "\(code.rawValue): \(message)" + (stderrTail.isEmpty ? "" : ": \(stderrTail)")
    }
}
