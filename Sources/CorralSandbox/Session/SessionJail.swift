import CCorralJail
import CCorralSyscalls
import Foundation
import Glibc
import Synchronization

/// A long-lived jail holding a session: its program (the session agent) reads framed requests on
/// stdin and writes framed replies on stdout, many in flight at once; a frame is a 4-byte
/// big-endian length and that many bytes. One thread per session moves the bytes (poll on the
/// jail's pipes and its pidfd); frames go to `onFrame`, the end of the jail to `onEnd`, once.
///
/// The program is untrusted once the session's code has run (same uid): a reply is hostile input
/// to whoever reads it, and a frame above `maxFrameBytes` ends the session.
///
/// Descriptors: the loop thread is the only one that reads or polls the jail's pipes, and they are
/// closed (`destroy()`) only once it has returned; the wake pipe lives as long as the object. A
/// descriptor closed under a running reader is a number the next `accept` or `pipe` gets: the loop
/// would read another connection's bytes (an HTTP request swallowed, never answered).
public final class SessionJail: @unchecked Sendable {
    public let workspace: SessionWorkspace
    let stub: JailStub
    let maxFrameBytes: Int
    private let outgoing = Mutex<[UInt8]>([])
    /// Bytes sent and not yet written to the agent (queued, or taken by the loop and not written).
    private let unwritten = Mutex(0)
    /// Requests waiting for the agent, in bytes, at most (one request of any size is queued when
    /// none waits): an agent that does not read (the session's own code can stop it: same uid)
    /// must not make the host hold every later request, each up to `maxFrameBytes`.
    public static let maxUnwrittenBytes = 96 << 20
    private let wake: (read: Int32, write: Int32)
    private let ended = Mutex<String?>(nil)
    private let destroyed = Mutex(false)
    /// Signalled once when the loop thread returns; its id, so that a `destroy()` from the loop's
    /// own handlers does not wait for itself.
    private let loopReturned = DispatchSemaphore(value: 0)
    private let loopThread = Mutex<pthread_t?>(nil)
    private let closeAfterLoop = Mutex(false)
    private let handlers: Mutex<(frame: @Sendable ([UInt8]) -> Void, end: @Sendable (String) -> Void)?>
    /// Bytes moved each way and the agent's last stderr, for `diagnosis()`.
    private let traffic = Mutex<(sent: Int, received: Int, frames: Int, stderrTail: [UInt8])>((0, 0, 0, []))

    /// The session's user-mode network stack, when it asked for network.
    let network: SlirpNetwork?

    init(stub: JailStub, workspace: SessionWorkspace, network: SlirpNetwork?, maxFrameBytes: Int,
         onFrame: @escaping @Sendable ([UInt8]) -> Void, onEnd: @escaping @Sendable (String) -> Void) throws(SandboxError) {
        self.stub = stub
        self.workspace = workspace
        self.network = network
        self.maxFrameBytes = maxFrameBytes
        wake = try Posix.pipe(nonBlockingRead: true, nonBlockingWrite: true)
        handlers = Mutex((onFrame, onEnd))
        let thread = Thread { [self] in
            loopThread.withLock { $0 = pthread_self() }
            loop()
            // A destroy() from the loop's own handlers left the pipes to be closed here.
            if closeAfterLoop.withLock({ $0 }) { stub.closeDescriptors() }
            loopReturned.signal()
        }
        thread.name = "corral-session"
        thread.start()
    }

    deinit {
        close(wake.read)
        close(wake.write)
    }

    /// Host pid of the jail's init.
    public var pid: Int32 { stub.pid }
    /// Why the jail ended, once it has.
    public var endReason: String? { ended.withLock { $0 } }

    /// What became of a frame given to `send`.
    public enum Sent: Equatable, Sendable {
        case queued
        /// The jail has ended.
        case ended
        /// The agent has not read this many bytes of earlier requests (`maxUnwrittenBytes`).
        case full(waiting: Int)
    }

    /// Queues one frame for the program.
    @discardableResult
    public func send(_ payload: [UInt8]) -> Sent {
        guard endReason == nil else { return .ended }
        let size = payload.count + 4
        let waiting = unwritten.withLock { w -> Int? in
            guard w == 0 || w + size <= Self.maxUnwrittenBytes else { return w }
            w += size
            return nil
        }
        if let waiting { return .full(waiting: waiting) }
        let n = UInt32(clamping: payload.count)
        outgoing.withLock { $0 += [UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)] + payload }
        var one: UInt8 = 1
        _ = Glibc.write(wake.write, &one, 1)
        return .queued
    }

    /// Memory in use now and the processes alive, over the whole session (its cgroup).
    public var memoryBytes: UInt64? { stub.cgroup?.currentMemoryBytes() }
    public var oomKills: Int { stub.cgroup?.usage().oomKills ?? 0 }

    /// Gives a started session other limits: its cgroup's memory, processes and CPU share
    /// (`previous` are the ones it has). The workspace's size stays (a warm session is taken only
    /// by a create of the size it has).
    public func retarget(_ limits: ResourceLimits, replacing previous: ResourceLimits) throws(SandboxError) {
        try limits.validate()
        try stub.cgroup?.apply(limits, replacing: previous)
    }

    /// Kills every process of the session now (SIGKILL to its init: the whole PID namespace dies);
    /// `destroy()` still tears it down.
    public func kill() { stub.kill() }

    /// Waits, for up to `seconds`, until no process of the session is left (after `kill()` or
    /// `destroy()`: the kernel takes a moment to take down a PID namespace's processes). False if
    /// some are still there then.
    public func waitUntilNoProcesses(seconds: Double) async -> Bool {
        let deadline = Posix.monotonicNanoseconds() + UInt64(max(0, seconds) * 1e9)
        while stillRunning {
            if Posix.monotonicNanoseconds() >= deadline { return false }
            try? await Task.sleep(nanoseconds: 2_000_000)
        }
        return true
    }

    /// Some process of the session lives: its cgroup holds one, or (without cgroups) its init lives.
    private var stillRunning: Bool {
        if let cgroup = stub.cgroup { return cgroup.hasProcesses }
        var entry = pollfd(fd: stub.pidfd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) == 0
    }

    /// Kills every process of the session, waits for its end and for the loop thread to let go of
    /// the jail's pipes, then closes them and removes the workspace. Idempotent.
    public func destroy() {
        guard destroyed.withLock({ d in defer { d = true }; return !d }) else { return }
        stub.kill()
        var one: UInt8 = 1
        _ = Glibc.write(wake.write, &one, 1)
        let onLoopThread = loopThread.withLock { $0.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
        // The loop returns within a poll interval of the kill (its pidfd turns readable). Should it
        // not (a handler of ours stuck), its descriptors are left open: a leak, never a reuse.
        if onLoopThread {
            // Called from a frame or end handler: the loop closes the pipes once it has returned.
            closeAfterLoop.withLock { $0 = true }
            stub.destroy(closingDescriptors: false)
        } else if loopReturned.wait(timeout: .now() + 30) == .timedOut {
            stub.destroy(closingDescriptors: false)
        } else {
            stub.destroy()
        }
        stub.cgroup?.removeWaiting(seconds: 10)
        _ = network?.stop()
        workspace.remove()
    }

    private func finish(_ reason: String) {
        let first = ended.withLock { current -> Bool in
            guard current == nil else { return false }
            current = reason
            return true
        }
        guard first else { return }
        let end = handlers.withLock { h -> (@Sendable (String) -> Void)? in
            defer { h = nil }
            return h?.end
        }
        end?(reason)
    }

    private func loop() {
        var inbox: [UInt8] = []
        var stderrTail: [UInt8] = []
        // Requests taken from the queue, written from `written` on: removing each write's bytes
        // from the front would move the rest each time (quadratic in up to 96 MiB of requests).
        var pending: [UInt8] = []
        var written = 0
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if written == pending.count {
                pending = outgoing.withLock { q in defer { q = [] }; return q }
                written = 0
            }
            var fds = [pollfd(fd: stub.stdoutRead, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: stub.stderrRead, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: stub.pidfd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            if written < pending.count { fds.append(pollfd(fd: stub.stdinWrite, events: Int16(POLLOUT), revents: 0)) }
            if poll(&fds, nfds_t(fds.count), 1000) < 0 && errno != EINTR {
                return finish("poll failed on the session's pipes (errno \(errno))")
            }
            if endReason != nil { return }
            if destroyed.withLock({ $0 }) { return finish("the session's jail was destroyed") }
            if fds[3].revents != 0 { while Glibc.read(wake.read, &chunk, chunk.count) > 0 {} }
            if fds[1].revents != 0 {
                while true {
                    let n = Glibc.read(stub.stderrRead, &chunk, chunk.count)
                    guard n > 0 else { break }
                    stderrTail += chunk[0..<n]
                    if stderrTail.count > 4096 { stderrTail.removeFirst(stderrTail.count - 4096) }
                    traffic.withLock { $0.stderrTail = Array(stderrTail.suffix(300)) }
                }
            }
            if fds.count > 4, fds[4].revents != 0 {
                let n = pending.withUnsafeBytes { Glibc.write(stub.stdinWrite, $0.baseAddress! + written, $0.count - written) }
                if n > 0 {
                    written += n
                    traffic.withLock { $0.sent += n }
                    unwritten.withLock { $0 -= n }
                }
                if n < 0 && errno != EAGAIN && errno != EINTR { return finish(describeEnd(stderrTail, "the session agent closed its input")) }
            }
            if fds[0].revents != 0 {
                var open = true
                while true {
                    let n = Glibc.read(stub.stdoutRead, &chunk, chunk.count)
                    if n == 0 { open = false; break }
                    if n < 0 { break }
                    inbox += chunk[0..<n]
                    traffic.withLock { $0.received += n }
                    if inbox.count > maxFrameBytes + 4 { break }
                }
                // Frames are taken from an offset and the inbox compacted once per read: removing each
                // frame from the front would move the rest each time, quadratic in a pipe full of
                // tiny frames (what the session's own code can write there, at host CPU).
                var at = 0
                while inbox.count - at >= 4 {
                    let length = Int(inbox[at]) << 24 | Int(inbox[at + 1]) << 16 | Int(inbox[at + 2]) << 8 | Int(inbox[at + 3])
                    guard length <= maxFrameBytes else {
                        stub.kill()
                        return finish("the session agent sent a reply of \(length) bytes (at most \(maxFrameBytes)); the session was ended")
                    }
                    guard inbox.count - at >= 4 + length else { break }
                    let frame = Array(inbox[(at + 4)..<(at + 4 + length)])
                    at += 4 + length
                    traffic.withLock { $0.frames += 1 }
                    handlers.withLock { $0?.frame }?(frame)
                }
                inbox.removeFirst(at)
                if !open { return finish(describeEnd(stderrTail, "the session agent closed its output")) }
            }
            if fds[2].revents != 0 { return finish(describeEnd(stderrTail, "the session's jail ended")) }
        }
    }

    /// What the jail is doing, for an error about a session that does not answer: the bytes moved
    /// each way, the frames received, the agent's last stderr, and its processes' states.
    public func diagnosis() -> String {
        let t = traffic.withLock { $0 }
        let queued = outgoing.withLock { $0.count }
        var text = "\(t.sent) bytes sent to the agent (\(queued) queued), \(t.received) received in \(t.frames) frames"
        if let group = stub.cgroup?.diagnosis() { text += "; " + group }
        let tail = String(decoding: t.stderrTail, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if !tail.isEmpty { text += "; its stderr: \(tail)" }
        return text
    }

    private func describeEnd(_ stderrTail: [UInt8], _ what: String) -> String {
        var reason = what
        if oomKills > 0 { reason += " after the session went over its memory limit" }
        let tail = String(decoding: stderrTail.suffix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if !tail.isEmpty { reason += " (its last words: \(tail))" }
        return reason
    }
}
