import Glibc

/// A failure of Corral itself or of a request to it, with what to do about it.
public enum SandboxError: Error, Sendable, CustomStringConvertible, Equatable {
    /// A syscall failed on the host side.
    case system(call: String, errno: Int32, context: String)
    /// A limit is outside the allowed range.
    case invalidLimit(name: String, value: Double, allowed: ClosedRange<Double>)
    /// The request itself is malformed (bad file name, empty argv, ...).
    case invalidRequest(String)
    /// The jail's own setup failed inside the child.
    case setup(step: String, errno: Int32)

    public var description: String {
        switch self {
        case let .system(call, errno, context):
            return "\(call) failed for \(context): \(String(cString: strerror(errno))) (errno \(errno))"
        case let .invalidLimit(name, value, allowed):
            return "\(name) = \(Self.formatLimit(value)) is out of range: allowed \(Self.formatLimit(allowed.lowerBound))...\(Self.formatLimit(allowed.upperBound))"
        case let .invalidRequest(message):
            return message
        case let .setup(step, errno):
            return "jail setup failed at \(step): \(String(cString: strerror(errno))) (errno \(errno)); run `corral doctor` to see what this host supports"
        }
    }

    /// A limit's value as a user reads it: a whole number without a decimal point, anything else
    /// as Swift prints it (`1e+19`, `0.5`, `nan`). `Int(exactly:)`, not `Int(_:)`: the value comes
    /// from a request and may not fit in an `Int` (`String(Int(1e19))` trapped and killed the server).
    public static func formatLimit(_ v: Double) -> String {
        if let whole = Int(exactly: v) { return String(whole) }
        return String(v)
    }
}
