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
            let shown = value == value.rounded() ? String(Int(value)) : String(value)
            return "\(name) = \(shown) is out of range: allowed \(Self.format(allowed.lowerBound))...\(Self.format(allowed.upperBound))"
        case let .invalidRequest(message):
            return message
        case let .setup(step, errno):
            return "jail setup failed at \(step): \(String(cString: strerror(errno))) (errno \(errno)); run `corral doctor` to see what this host supports"
        }
    }

    private static func format(_ v: Double) -> String {
        v == v.rounded() ? String(Int(v)) : String(v)
    }
}
