import CorralSandbox
import CorralTestSupport
import Foundation
import Glibc
import Synchronization
import Testing

/// A session's jail and the thread that moves its frames: its pipes are closed only once that
/// thread has let go of them. A pipe closed under it is a descriptor number the next `accept`
/// gets, and the thread then reads another connection's bytes (an HTTP request swallowed and
/// never answered: the stall the HTTP suites saw once in some thousand requests).
@Suite("Session jails", .enabled(if: TestSupport.jailsAvailable))
struct SessionJailTests {
    /// `cat` echoes every frame back as it came.
    static func start(id: String, onFrame: @escaping @Sendable ([UInt8]) -> Void) async throws -> SessionJail {
        var limits = ResourceLimits()
        limits.processes = 8
        let spec = JailSpec(arguments: ["/bin/cat"], environment: JailSpec.baseEnvironment, limits: limits)
        return try await TestSupport.sandbox.startSession(Sandbox.SessionSetup(spec: spec, workspace: .scratch, id: id),
                                                          onFrame: onFrame, onEnd: { _ in })
    }

    static func frame(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test("destroy() returns only after the frame thread has returned, and closes the pipes after it")
    func destroyWaitsForTheFrameThread() async throws {
        // The frame handler is busy (300 ms) when destroy() is called from another thread.
        let inHandler = DispatchSemaphore(value: 0)
        let handlerDone = Mutex(false)
        let jail = try await Self.start(id: "destroy-wait-\(getpid())") { _ in
            inHandler.signal()
            usleep(300_000)
            handlerDone.withLock { $0 = true }
        }
        #expect(jail.send(Self.frame("one")) == .queued)
        #expect(inHandler.wait(timeout: .now() + 30) == .success, "the echoed frame reached the handler")
        let pid = jail.pid
        jail.destroy()
        #expect(handlerDone.withLock { $0 }, "destroy() returned while the frame thread was still running")
        // Outside: the jail is gone.
        #expect(kill(pid, 0) != 0 && errno == ESRCH, "the jail's init is reaped")
        #expect(jail.send(Self.frame("late")) == .ended, "a destroyed session takes no frames")
    }

    @Test("an agent that reads nothing (stopped, as the session's own code can do) makes the host queue at most maxUnwrittenBytes of requests")
    func unreadRequestsAreBounded() async throws {
        var limits = ResourceLimits()
        limits.processes = 8
        // A program that never reads its stdin: what an agent stopped with SIGSTOP is.
        let spec = JailSpec(arguments: ["/bin/sleep", "600"], environment: JailSpec.baseEnvironment, limits: limits)
        let jail = try await TestSupport.sandbox.startSession(Sandbox.SessionSetup(spec: spec, workspace: .scratch, id: "unread-\(getpid())"),
                                                              onFrame: { _ in }, onEnd: { _ in })
        defer { jail.destroy() }
        // One request larger than the bound is taken when none waits (an upload of its largest size).
        let large = [UInt8](repeating: 7, count: SessionJail.maxUnwrittenBytes + 1000)
        #expect(jail.send(large) == .queued)
        guard case .full(let waiting) = jail.send(Self.frame("then")) else {
            Issue.record("a second request was queued behind an unread request larger than the bound")
            return
        }
        #expect(waiting > SessionJail.maxUnwrittenBytes - 128 * 1024, "the pipe took at most its capacity: \(waiting) bytes wait")
        jail.destroy()
        // Another session: small requests queue up to the bound, then are refused.
        let other = try await TestSupport.sandbox.startSession(Sandbox.SessionSetup(spec: spec, workspace: .scratch, id: "unread2-\(getpid())"),
                                                               onFrame: { _ in }, onEnd: { _ in })
        defer { other.destroy() }
        let megabyte = [UInt8](repeating: 1, count: 1 << 20)
        var queued = 0
        while other.send(megabyte) == .queued, queued < 1000 { queued += 1 }
        #expect((90...97).contains(queued), "\(queued) requests of 1 MiB were queued (the bound is \(SessionJail.maxUnwrittenBytes >> 20) MiB)")
    }

    @Test("a loopback connect to a listener whose backlog is full gives up within seconds (a blocking connect waits ~127 s)")
    func connectToFullBacklog() async throws {
        var limits = ResourceLimits()
        limits.processes = 8
        let script = """
            import socket, time
            full = socket.socket(); full.bind(("127.0.0.1", 7777)); full.listen(0)
            filler = socket.create_connection(("127.0.0.1", 7777))
            try:
                socket.create_connection(("127.0.0.1", 7777), timeout=0.2)  # the one the backlog still takes
            except OSError:
                pass
            fine = socket.socket(); fine.bind(("127.0.0.1", 7778)); fine.listen(16)
            time.sleep(600)
            """
        let spec = JailSpec(arguments: ["/usr/bin/python3", "-c", script], environment: JailSpec.baseEnvironment, limits: limits)
        let jail = try await TestSupport.sandbox.startSession(Sandbox.SessionSetup(spec: spec, workspace: .scratch, id: "backlog-\(getpid())"),
                                                              onFrame: { _ in }, onEnd: { _ in })
        defer { jail.destroy() }
        // Its stdout is the frame channel (anything printed there reads as a frame's length): it
        // is ready once its healthy port answers.
        var healthy: Int32 = -1
        for _ in 0..<100 {
            if let fd = try? jail.connectLoopback(port: 7778) { healthy = fd; break }
            usleep(100_000)
        }
        #expect(healthy >= 0, "a listener with room is reached")
        if healthy >= 0 { close(healthy) }
        let start = DispatchTime.now().uptimeNanoseconds
        var refused: SandboxError?
        do throws(SandboxError) { close(try jail.connectLoopback(port: 7777)) } catch { refused = error }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        #expect(refused != nil, "a full backlog is not a connection")
        #expect(seconds < 10, "the connect gave up after \(seconds) s")
        #expect("\(refused.map { "\($0)" } ?? "")".contains("no answer within"), "\(String(describing: refused))")
    }

    @Test("descriptors of many destroyed sessions are never read by their old threads")
    func closedPipesAreNotReadByAnyone() async throws {
        // Each session is destroyed while its thread is live, then pipes are opened (they get the
        // numbers just freed) and a byte is written into each: nobody but us may take it.
        for round in 0..<8 {
            let jail = try await Self.start(id: "reuse-\(getpid())-\(round)") { _ in }
            #expect(jail.send(Self.frame("ping")) == .queued)
            jail.destroy()
            var pipes: [(Int32, Int32)] = []
            for _ in 0..<8 {
                var fds: [Int32] = [0, 0]
                guard pipe(&fds) == 0 else { continue }
                _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
                var byte: UInt8 = 42
                _ = write(fds[1], &byte, 1)
                pipes.append((fds[0], fds[1]))
            }
            usleep(50_000)
            for (r, w) in pipes {
                var byte: UInt8 = 0
                #expect(read(r, &byte, 1) == 1 && byte == 42, "a byte written into a reused descriptor was taken")
                close(r); close(w)
            }
        }
    }
}
