import Foundation
import Glibc

/// The CLI's own standard output and error. Every byte the CLI prints goes through here.
///
/// Why not `FileHandle.write(_:)`: it writes with a `try!` inside Foundation, and SIGPIPE is
/// ignored (see `ignoreBrokenPipes()`), so a reader that closed its end early
/// (`corral run … | head -c 1`) turned EPIPE into SIGILL. Here a write to a reader that has gone
/// reports `false` and the command carries on: its jail is already destroyed and it exits with its
/// own status, never with a signal.
enum StandardStream {
    case output, error

    private var descriptor: Int32 { self == .output ? STDOUT_FILENO : STDERR_FILENO }

    /// Writes all of `bytes`, retrying short writes and EINTR. False when the reader is gone
    /// (EPIPE) or the stream failed otherwise: the rest is dropped, as there is nobody to tell.
    @discardableResult
    func write(_ bytes: Data) -> Bool {
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return true }
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(descriptor, base + offset, buffer.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
    }

    @discardableResult
    func write(_ text: String) -> Bool { write(Data(text.utf8)) }

    /// `text` and a newline: the CLI's `print`.
    @discardableResult
    func line(_ text: String) -> Bool { write(Data((text + "\n").utf8)) }

    /// A closed pipe must be an EPIPE the CLI can handle, not a SIGPIPE that kills it before its
    /// jail is cleaned up. The sandbox ignores SIGPIPE too; this covers the commands that start none.
    static func ignoreBrokenPipes() {
        signal(SIGPIPE, SIG_IGN)
    }
}
