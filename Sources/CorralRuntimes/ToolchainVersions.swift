import Foundation
import Glibc
import Synchronization

/// Toolchain versions, probed once per process (they key the compile cache).
public final class ToolchainVersions: Sendable {
    private let known = Mutex<[String: LanguageInfo]>([:])

    public init() {}

    public func info(of language: Language) async -> LanguageInfo {
        if let cached = known.withLock({ $0[language.name] }) { return cached }
        // A probe waits for a process: on its own thread, never on the concurrency pool.
        let info = await LanguageProbe.probeOffPool(language)
        known.withLock { $0[language.name] = info }
        return info
    }

    public func version(of language: Language) async -> String? {
        await info(of: language).version
    }
}

/// Versions probed by earlier processes, kept in a small JSON file (`.toolchain-versions.json` in
/// the compile cache's directory, which its eviction skips) and reused while the toolchain's
/// files are the very same: a probe of the JVM alone takes 150–450 ms on these machines, and
/// `corral languages` would pay it on every call.
///
/// An entry holds for a language while its version command and the stat of the executables it
/// names (device, inode, size, modification and change times, symlinks followed) are unchanged:
/// a package upgrade replaces those files, so it invalidates the entry. Only successful probes
/// are kept; a missing or failing toolchain is probed again each time.
public struct ToolchainVersionCache: Sendable {
    public let path: String

    public init(directory: String) {
        path = directory + "/.toolchain-versions.json"
    }

    struct Entry: Codable, Equatable {
        var fingerprint: String
        var version: String
    }

    /// The stored version of `language`, when its files have not changed since it was probed.
    func version(of language: Language, in entries: [String: Entry]) -> String? {
        guard let entry = entries[language.name], let now = Self.fingerprint(language), entry.fingerprint == now else { return nil }
        return entry.version
    }

    func load() -> [String: Entry] {
        guard let data = FileManager.default.contents(atPath: path),
              let entries = try? JSONDecoder().decode([String: Entry].self, from: data) else { return [:] }
        return entries
    }

    /// Writes the successful probes of `infos` (best effort: a cache that cannot be written costs
    /// the next call its probes, nothing else).
    func store(_ infos: [LanguageInfo], catalog: LanguageCatalog) {
        var entries: [String: Entry] = [:]
        for info in infos where info.available {
            guard let version = info.version, let language = catalog.languages.first(where: { $0.name == info.name }),
                  let fingerprint = Self.fingerprint(language) else { continue }
            entries[info.name] = Entry(fingerprint: fingerprint, version: version)
        }
        guard entries != load(), let data = try? JSONEncoder().encode(entries) else { return }
        let directory = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let temporary = path + ".\(getpid()).tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: data) else { return }
        if rename(temporary, path) != 0 { unlink(temporary) }
    }

    /// The version command and the identity of every executable it depends on.
    static func fingerprint(_ language: Language) -> String? {
        var parts = [language.version.joined(separator: "\u{1F}")]
        for file in Set([language.requiredExecutable] + language.version.prefix(1)).sorted() {
            var st = stat()
            guard stat(file, &st) == 0 else { return nil }
            parts.append("\(file):\(st.st_dev):\(st.st_ino):\(st.st_size):\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec):\(st.st_ctim.tv_sec).\(st.st_ctim.tv_nsec)")
        }
        return parts.joined(separator: "|")
    }
}
