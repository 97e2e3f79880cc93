import Synchronization

/// Toolchain versions, probed once per process (they key the compile cache).
public final class ToolchainVersions: Sendable {
    private let known = Mutex<[String: LanguageInfo]>([:])

    public init() {}

    public func info(of language: Language) async -> LanguageInfo {
        if let cached = known.withLock({ $0[language.name] }) { return cached }
        let info = LanguageProbe.probe(language)
        known.withLock { $0[language.name] = info }
        return info
    }

    public func version(of language: Language) async -> String? {
        await info(of: language).version
    }
}
