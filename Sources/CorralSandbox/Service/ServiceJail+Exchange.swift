import CCorralJail
import Foundation
import Glibc

extension ServiceJail {
    /// Sends one request frame and waits for its reply frame until `deadline` (monotonic ns).
    /// Blocking: runs on a thread of its own. On failure the worker is killed (not yet destroyed:
    /// the caller destroys it once it has let go of it).
    func exchange(_ payload: [UInt8], deadline: UInt64) -> Result<[UInt8], ServiceFailure> {
        var frame = Self.lengthPrefix(payload.count)
        frame += payload
        var written = 0
        var reply: [UInt8] = []
        var stderrTail: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)

        func fail(_ failure: ServiceFailure) -> Result<[UInt8], ServiceFailure> {
            kill()
            var f = failure
            f.stderrTail = Self.tail(stderrTail)
            return .failure(f)
        }

        while true {
            let now = Posix.monotonicNanoseconds()
            if now >= deadline {
                return fail(ServiceFailure(.timeout, "no reply within the request's deadline; the worker was killed"))
            }
            var fds = [pollfd(fd: stub.stdoutRead, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: stub.stderrRead, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: stub.pidfd, events: Int16(POLLIN), revents: 0)]
            if written < frame.count { fds.append(pollfd(fd: stub.stdinWrite, events: Int16(POLLOUT), revents: 0)) }
            let waitMs = Int32(min(100, (deadline - now) / 1_000_000 + 1))
            let ready = poll(&fds, nfds_t(fds.count), waitMs)
            if ready < 0 && errno != EINTR {
                return fail(ServiceFailure(.unavailable, "poll failed on the worker's pipes (errno \(errno))"))
            }
            if ready <= 0 { continue }
            // stderr first: a worker that dies should be reported with its last words.
            if fds[1].revents != 0 { _ = drain(stub.stderrRead, into: &stderrTail, chunk: &chunk, keep: 4096) }
            if fds.count > 3, fds[3].revents != 0 {
                let n = frame.withUnsafeBytes { write(stub.stdinWrite, $0.baseAddress! + written, $0.count - written) }
                if n > 0 { written += n }
                if n < 0 && errno != EAGAIN && errno != EINTR {
                    // EPIPE: the program is gone or closed its stdin; its end is classified below.
                    return fail(ended(afterClosing: "its stdin"))
                }
            }
            if fds[0].revents != 0 {
                let open = drain(stub.stdoutRead, into: &reply, chunk: &chunk, keep: nil)
                if reply.count >= 4 {
                    let length = Self.length(reply)
                    guard length <= maxReplyBytes else {
                        return fail(ServiceFailure(.oversizedReply, "the worker announced a reply of \(length) bytes; at most \(maxReplyBytes) are read"))
                    }
                    if reply.count == 4 + length, written == frame.count {
                        countServed()
                        return .success(Array(reply[4...]))
                    }
                    if reply.count > 4 + length || (written < frame.count && reply.count >= 4) {
                        return fail(ServiceFailure(.malformedReply, "the worker wrote more than one reply frame, or replied before reading the request"))
                    }
                }
                if !open { return fail(ended(afterClosing: "its stdout")) }
            }
            if fds[2].revents != 0 { return fail(ended(afterClosing: nil)) }
        }
    }

    /// What ended the program: the kernel's OOM killer, a signal, or an exit. Waits a little for
    /// the init to report the program's end (it may only have closed a pipe so far).
    private func ended(afterClosing pipe: String?) -> ServiceFailure {
        var probe = pollfd(fd: stub.pidfd, events: Int16(POLLIN), revents: 0)
        if poll(&probe, 1, 500) == 0, let pipe {
            return ServiceFailure(.exited, "the worker closed \(pipe) without replying")
        }
        var waitStatus: Int32?
        var setupError: corral_status?
        var message = corral_status()
        while true {
            let n = withUnsafeMutableBytes(of: &message) { read(stub.statusRead, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n == MemoryLayout<corral_status>.size else { break }
            switch Int(message.kind) {
            case Int(CORRAL_STATUS_SETUP_ERROR.rawValue): if setupError == nil { setupError = message }
            case Int(CORRAL_STATUS_EXITED.rawValue): waitStatus = message.wait_status
            default: break
            }
        }
        if let setupError {
            let error = SandboxError.setup(step: "setup step \(setupError.step)", errno: setupError.error)
            return ServiceFailure(.unavailable, "the worker's jail could not be set up: \(error)")
        }
        if (stub.cgroup?.usage().oomKills ?? 0) > 0 {
            return ServiceFailure(.memoryLimit, "the worker went over its memory limit and was killed")
        }
        guard let status = waitStatus else {
            return ServiceFailure(.crashed, "the worker's jail ended before its program reported an exit status", signal: Int(SIGKILL))
        }
        if status & 0x7f != 0 {
            let signal = Int(status & 0x7f)
            return ServiceFailure(.crashed, "the worker died of signal \(signal)", signal: signal)
        }
        let code = Int((status >> 8) & 0xff)
        return ServiceFailure(.exited, "the worker exited with code \(code) without replying", exitCode: code)
    }

    /// Reads what is available; keeps everything (`keep` nil) or the last `keep` bytes. False at EOF.
    private func drain(_ fd: Int32, into buffer: inout [UInt8], chunk: inout [UInt8], keep: Int?) -> Bool {
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n == 0 { return false }
            if n < 0 { return errno == EAGAIN || errno == EINTR }
            buffer += chunk[0..<n]
            if let keep, buffer.count > keep { buffer.removeFirst(buffer.count - keep) }
            // A reply past the limit is refused on its announced length: never buffer more than that.
            if keep == nil, buffer.count > maxReplyBytes + 4 { return true }
        }
    }

    static func lengthPrefix(_ count: Int) -> [UInt8] {
        let n = UInt32(clamping: count)
        return [UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)]
    }

    static func length(_ bytes: [UInt8]) -> Int {
        Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
    }

    private static func tail(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.suffix(400), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
