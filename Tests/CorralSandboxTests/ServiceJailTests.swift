import CorralSandbox
import CorralTestSupport
import Foundation
import Glibc
import Testing

/// Service jails (issue 10, item 4): one program in one jail answering many framed requests;
/// every way a worker can fail is reported and the next request gets a working one.
@Suite("Service jails", .enabled(if: TestSupport.jailsAvailable))
struct ServiceJailTests {
    /// A worker that echoes, or misbehaves on request. Real Python in a real jail.
    static let program = """
    import os, signal, sys, time
    i, o = sys.stdin.buffer, sys.stdout.buffer
    def reply(b):
        o.write(len(b).to_bytes(4, "big") + b); o.flush()
    while True:
        h = i.read(4)
        if len(h) < 4: break
        req = i.read(int.from_bytes(h, "big"))
        if req == b"hang": time.sleep(100)
        elif req == b"crash": os.kill(os.getpid(), signal.SIGSEGV)
        elif req == b"exit": sys.stderr.write("giving up\\n"); sys.stderr.flush(); sys.exit(3)
        elif req == b"huge": o.write((1 << 30).to_bytes(4, "big")); o.flush()
        elif req == b"twice": o.write(b"\\0\\0\\0\\1a\\0\\0\\0\\1b"); o.flush()
        elif req == b"memory": x = bytearray(400 << 20); reply(b"%d" % len(x))
        else: reply(b"echo:" + req)
    """

    static func pool(maximumWorkers: Int = 2, requestsPerWorker: Int = 100, memoryMB: Int = 128) throws -> ServicePool {
        var limits = ResourceLimits()
        limits.memoryMB = memoryMB
        limits.processes = 16
        let spec = JailSpec(arguments: ["/usr/bin/python3", "-I", "-S", "-c", program], environment: JailSpec.baseEnvironment,
                            limits: limits, writableWorkspace: false)
        var configuration = ServicePool.Configuration(spec: spec)
        configuration.maximumWorkers = maximumWorkers
        configuration.requestsPerWorker = requestsPerWorker
        configuration.maxReplyBytes = 1 << 20
        return try TestSupport.sandbox.servicePool(configuration)
    }

    static func send(_ pool: ServicePool, _ text: String, timeout: Double = 5) async -> Result<ServicePool.Reply<String>, ServiceFailure> {
        await pool.request(Array(text.utf8), timeoutSeconds: timeout) { String(decoding: $0, as: UTF8.self) }
    }

    @Test func oneWorkerAnswersManyRequests() async throws {
        let pool = try Self.pool()
        defer { pool.shutdown() }
        let first = try await Self.send(pool, "a").get()
        let second = try await Self.send(pool, "b").get()
        #expect(first.value == "echo:a" && second.value == "echo:b")
        #expect(first.workerPID == second.workerPID)
        #expect(first.servedBefore == 0 && second.servedBefore == 1)
        #expect(pool.workersStarted == 1)
    }

    @Test(arguments: [
        ("hang", ServiceFailure.Code.timeout), ("crash", .crashed), ("exit", .exited), ("huge", .oversizedReply),
        ("twice", .malformedReply), ("memory", .memoryLimit),
    ])
    func failureIsReportedAndTheWorkerReplaced(request: String, expected: ServiceFailure.Code) async throws {
        let pool = try Self.pool(maximumWorkers: 1)
        defer { pool.shutdown() }
        let before = try await Self.send(pool, "before").get()
        let failed = await Self.send(pool, request, timeout: 1)
        guard case .failure(let failure) = failed else {
            Issue.record("\(request) got a reply: \(failed)")
            return
        }
        #expect(failure.code == expected, "\(failure)")
        #expect(failure.servedBefore == 1)
        if request == "crash" { #expect(failure.signal == Int(SIGSEGV)) }
        if request == "exit" { #expect(failure.exitCode == 3 && failure.stderrTail.contains("giving up")) }
        let after = try await Self.send(pool, "after").get()
        #expect(after.value == "echo:after")
        #expect(after.workerPID != before.workerPID)
        #expect(pool.workerPIDs == [after.workerPID])
    }

    @Test func aReplyTheCallerCannotReadReplacesTheWorker() async throws {
        let pool = try Self.pool(maximumWorkers: 1)
        defer { pool.shutdown() }
        struct Unreadable: Error {}
        let first = await pool.request(Array("x".utf8), timeoutSeconds: 5) { _ -> String in throw Unreadable() }
        guard case .failure(let failure) = first else { Issue.record("decoded: \(first)"); return }
        #expect(failure.code == .malformedReply)
        let second = try await Self.send(pool, "y").get()
        #expect(second.servedBefore == 0)
    }

    @Test func aWorkerKilledWhileIdleIsNotHandedOut() async throws {
        let pool = try Self.pool(maximumWorkers: 1)
        defer { pool.shutdown() }
        let first = try await Self.send(pool, "a").get()
        kill(first.workerPID, SIGKILL)
        // Wait for the kill to land (the init a zombie): until then the worker may still answer, rightly.
        for _ in 0..<200 where !Self.isZombie(first.workerPID) { try await Task.sleep(for: .milliseconds(10)) }
        let second = try await Self.send(pool, "b").get()
        #expect(second.value == "echo:b" && second.workerPID != first.workerPID)
    }

    static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(close, offsetBy: 2)...].hasPrefix("Z")
    }

    @Test func aWorkerIsReplacedAfterItsRequests() async throws {
        let pool = try Self.pool(maximumWorkers: 1, requestsPerWorker: 2)
        defer { pool.shutdown() }
        var pids: [Int32] = []
        for n in 0..<5 { pids.append(try await Self.send(pool, "\(n)").get().workerPID) }
        #expect(pids[0] == pids[1] && pids[1] != pids[2] && pids[2] == pids[3] && pids[3] != pids[4])
        #expect(pool.workersStarted == 3)
    }

    @Test func concurrentRequestsShareABoundedPool() async throws {
        let pool = try Self.pool(maximumWorkers: 2)
        defer { pool.shutdown() }
        let replies = await withTaskGroup(of: (Int, String?).self) { group in
            for n in 0..<32 {
                group.addTask { (n, try? await Self.send(pool, "r\(n)").get().value) }
            }
            return await group.reduce(into: [Int: String?]()) { $0[$1.0] = $1.1 }
        }
        for n in 0..<32 { #expect(replies[n] == "echo:r\(n)") }
        #expect(pool.workersStarted <= 2)
    }

    @Test func shutdownKillsTheWorkersAndRefusesRequests() async throws {
        let pool = try Self.pool()
        let reply = try await Self.send(pool, "a").get()
        pool.shutdown()
        #expect(kill(reply.workerPID, 0) != 0) // reaped
        let refused = await Self.send(pool, "b")
        guard case .failure(let failure) = refused else { Issue.record("answered after shutdown"); return }
        #expect(failure.code == .unavailable)
    }

    @Test func aSpecThatCannotServeIsRefused() throws {
        var configuration = ServicePool.Configuration(spec: JailSpec(arguments: ["/bin/cat"], stdin: Array("x".utf8)))
        #expect(throws: SandboxError.self) { try TestSupport.sandbox.servicePool(configuration) }
        configuration.spec.stdin = []
        configuration.maximumWorkers = 0
        #expect(throws: SandboxError.self) { try TestSupport.sandbox.servicePool(configuration) }
    }
}
