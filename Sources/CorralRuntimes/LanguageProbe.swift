import CorralSandbox
import Foundation
import Glibc

/// Whether a language's toolchain is installed, and its version.
public struct LanguageInfo: Sendable, Codable {
    public var name: String
    public var displayName: String
    public var aliases: [String]
    public var compiled: Bool
    public var available: Bool
    public var version: String?
    /// Why it is unavailable.
    public var reason: String?

    enum CodingKeys: String, CodingKey {
        case name, aliases, compiled, available, version, reason
        case displayName = "display_name"
    }
}

/// Probes toolchain versions by running each language's version command on the host
/// (an absolute path to a trusted, installed toolchain binary; never user input).
///
/// A probe blocks (it waits for a process), so it never runs on the Swift concurrency pool:
/// `probeAll` starts every version command at once from one dedicated thread and then reads
/// them, so the whole catalog costs about its slowest toolchain (the JVM), not their sum.
public enum LanguageProbe {
    /// Probes one language, blocking the calling thread (use `probeOffPool` from async code).
    public static func probe(_ language: Language) -> LanguageInfo {
        finish(start(language))
    }

    /// Probes one language on a dedicated thread.
    public static func probeOffPool(_ language: Language) async -> LanguageInfo {
        await onProbeThread { probe(language) }
    }

    /// Probes every language of `catalog`; with a `cache`, a toolchain whose files are unchanged
    /// since an earlier probe is not run again, and the new results are stored for the next call.
    public static func probeAll(_ catalog: LanguageCatalog, cache: ToolchainVersionCache? = nil) async -> [LanguageInfo] {
        let languages = catalog.languages
        return await onProbeThread {
            let stored = cache?.load() ?? [:]
            let infos = languages.map { language -> Started in
                if let cache, let version = cache.version(of: language, in: stored) {
                    var info = baseInfo(language)
                    info.available = true
                    info.version = version
                    return Started(info: info)
                }
                return start(language)
            }.map(finish)
            cache?.store(infos, catalog: catalog)
            return infos
        }
    }

    /// What the catalog says of `language`, before any probe.
    static func baseInfo(_ language: Language) -> LanguageInfo {
        LanguageInfo(name: language.name, displayName: language.displayName ?? language.name,
                     aliases: language.aliases, compiled: language.isCompiled, available: false)
    }

    /// The whole environment of a version command.
    static let environment = ["PATH=/usr/bin:/bin", "HOME=/nonexistent", "LANG=C.UTF-8"]

    /// A version command started (or the reason it was not).
    struct Started {
        var info: LanguageInfo
        var pid: pid_t = 0
        var output: Int32 = -1
    }

    static func start(_ language: Language) -> Started {
        var info = baseInfo(language)
        let exe = language.requiredExecutable
        guard access(exe, X_OK) == 0 else {
            info.reason = "not installed: \(exe) is missing (scripts/bootstrap installs it)"
            return Started(info: info)
        }
        guard let program = language.version.first else {
            info.reason = "the catalog gives no version command"
            return Started(info: info)
        }
        let ends: (read: Int32, write: Int32)
        do throws(SandboxError) { ends = try Posix.pipe() } catch {
            info.reason = "cannot run \(program): \(error)"
            return Started(info: info)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, ends.write, 1)
        posix_spawn_file_actions_adddup2(&actions, ends.write, 2)
        // Nothing else of the caller (the server's sockets, its database) reaches a version command,
        // whether or not it was opened close-on-exec (what Foundation's Process did too). Swift's
        // Glibc does not export posix_spawn_file_actions_addclosefrom_np: every descriptor open now
        // is closed in the child (glibc ignores one closed meanwhile).
        for fd in openDescriptors() where fd > 2 && fd != ends.write {
            posix_spawn_file_actions_addclose(&actions, fd)
        }
        let argv = language.version.map { strdup($0) } + [nil]
        let environment: [UnsafeMutablePointer<CChar>?] = Self.environment.map { strdup($0) } + [nil]
        defer { (argv + environment).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, program, &actions, nil, argv, environment)
        close(ends.write)
        guard rc == 0 else {
            close(ends.read)
            info.reason = "cannot run \(program): \(String(cString: strerror(rc)))"
            return Started(info: info)
        }
        return Started(info: info, pid: pid, output: ends.read)
    }

    /// The descriptors this process has open (`/proc/self/fd`).
    static func openDescriptors() -> [Int32] {
        guard let directory = opendir("/proc/self/fd") else { return [] }
        defer { closedir(directory) }
        var descriptors: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let fd = Int32(name) { descriptors.append(fd) }
        }
        return descriptors
    }

    /// Reads a started command's output to its end and waits for it.
    static func finish(_ started: Started) -> LanguageInfo {
        var info = started.info
        guard started.pid > 0 else { return info }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(started.output, $0.baseAddress, $0.count) }
            if n > 0 { output += chunk[0..<n]; continue }
            if n < 0 && errno == EINTR { continue }
            break
        }
        close(started.output)
        var status: Int32 = 0
        while waitpid(started.pid, &status, 0) < 0 && errno == EINTR {}
        let exitCode = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let firstLine = String(decoding: output, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        guard exitCode == 0, !firstLine.isEmpty else {
            info.reason = "version probe failed (exit \(exitCode)): \(firstLine)"
            return info
        }
        info.available = true
        info.version = firstLine.trimmingCharacters(in: .whitespaces)
        return info
    }

    /// Runs blocking `work` on a new thread, never on the concurrency pool.
    static func onProbeThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: work()) }
            thread.name = "corral-version-probe"
            thread.start()
        }
    }
}
