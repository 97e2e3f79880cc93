import Foundation
import Glibc

/// Starts a host program with `posix_spawn` (stdio on /dev/null) and waits for it:
/// the bare cost a sandbox adds to.
enum SpawnTimer {
    /// Runs `argv` to its end; returns the wall time in milliseconds and whether it exited 0.
    static func run(_ argv: [String], environment: [String]) -> (milliseconds: Double, succeeded: Bool) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup($0) } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }

        let start = monotonicNanoseconds()
        var pid: pid_t = 0
        guard posix_spawn(&pid, argv[0], &actions, nil, cArgs, cEnv) == 0 else { return (0, false) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let elapsed = monotonicNanoseconds() - start
        let exitedZero = status & 0x7f == 0 && (status >> 8) & 0xff == 0
        return (Double(elapsed) / 1e6, exitedZero)
    }

    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
