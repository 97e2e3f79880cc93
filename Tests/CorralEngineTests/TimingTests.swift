@testable import CorralEngine
import CorralSandbox
import CorralTestSupport
import Foundation
import Testing

/// `execution_time_ms` is the program's own wall time (stamped in the jail's init); the wait for
/// admission is `queue_time_ms`, beside it and never in it.
@Suite("Timing", .serialized, .enabled(if: TestSupport.jailsAvailable))
struct TimingTests {
    @Test func queueingShowsInQueueTimeNotInExecutionTime() async throws {
        let engine = try EngineFixtures.engine(EngineFixtures.configuration(workers: 2))
        let started = EngineFixtures.monotonicSeconds()
        let responses = try await withThrowingTaskGroup(of: ExecutionResponse.self) { group in
            for _ in 0..<8 { group.addTask { try await engine.execute(.make("bash", "sleep 0.2")) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let wallMs = (EngineFixtures.monotonicSeconds() - started) * 1000
        let executions = responses.map(\.result.executionTimeMs).sorted()
        let queues = try responses.map { try #require($0.queueTimeMs) }.sorted()
        print("8 × sleep 0.2 on 2 workers: execution_time_ms \(executions.map { Int($0) }), queue_time_ms \(queues.map { Int($0) }), wall \(Int(wallMs)) ms")
        for response in responses {
            #expect(response.result.status == .success, "\(response.result)")
            #expect((200...220).contains(response.result.executionTimeMs), "execution_time_ms \(response.result.executionTimeMs)")
        }
        // Four waves of two: two start at once, the others wait about 200, 400 and 600 ms.
        #expect(queues.prefix(2).allSatisfy { $0 < 50 }, "the first two do not wait: \(queues)")
        #expect(queues.dropFirst(2).allSatisfy { $0 >= 150 }, "the other six wait for a jail: \(queues)")
        #expect(queues[6] >= 550, "the last wave waits three runs: \(queues)")
        #expect(wallMs >= 800, "two at a time: \(wallMs) ms")
    }

    /// 200 runs, one at a time: each `execution_time_ms` is at least 1 ms, covers the time the
    /// program itself measured from its first statement to its last, and fits inside the time
    /// the caller waited (measured outside, on the same CLOCK_MONOTONIC).
    @Test func executionTimeIsTheProgramsOwn() async throws {
        let engine = try EngineFixtures.engine(EngineFixtures.configuration(workers: 1))
        let code = "import time\nstart = time.monotonic()\nprint(1)\nprint(repr(start), repr(time.monotonic()))\n"
        var smallest = Double.infinity, largestGap = 0.0
        for _ in 0..<200 {
            let before = EngineFixtures.monotonicSeconds()
            let response = try await engine.execute(.make("python", code))
            let after = EngineFixtures.monotonicSeconds()
            let lines = response.result.stdout.split(separator: "\n")
            #expect(response.result.status == .success && lines.first == "1", "\(response.result)")
            let stamps = lines.dropFirst().first?.split(separator: " ").compactMap { Double($0) } ?? []
            let (programStart, programEnd) = (try #require(stamps.first), try #require(stamps.last))
            let execution = response.result.executionTimeMs
            let programOwn = (programEnd - programStart) * 1000
            let outside = (after - before) * 1000
            #expect(execution >= 1, "execution_time_ms \(execution)")
            #expect(execution >= programOwn, "execution_time_ms \(execution) < the program's own \(programOwn)")
            #expect(before <= programStart && programEnd <= after, "the program ran inside the call")
            #expect(execution <= outside, "execution_time_ms \(execution) > the caller's wait \(outside)")
            smallest = min(smallest, execution)
            largestGap = max(largestGap, outside - execution)
        }
        print("200 × python print(1): smallest execution_time_ms \(smallest), largest overhead outside it \(Int(largestGap)) ms")
    }

    /// The library's figure for a known program: its own sleep plus start-up, nothing of Corral's.
    @Test func aKnownProgramTakesItsOwnTime() async throws {
        let engine = try EngineFixtures.engine()
        let response = try await engine.execute(.make("bash", "sleep 0.3"))
        #expect((300...330).contains(response.result.executionTimeMs), "\(response.result.executionTimeMs)")
        #expect(response.queueTimeMs.map { $0 < 50 } == true)
    }
}
