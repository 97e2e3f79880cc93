import Foundation

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
public enum LanguageProbe {
    public static func probe(_ language: Language) -> LanguageInfo {
        var info = LanguageInfo(name: language.name, displayName: language.displayName ?? language.name,
                                aliases: language.aliases, compiled: language.isCompiled, available: false)
        let exe = language.requiredExecutable
        guard FileManager.default.isExecutableFile(atPath: exe) else {
            info.reason = "not installed: \(exe) is missing (scripts/bootstrap installs it)"
            return info
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: language.version[0])
        process.arguments = Array(language.version.dropFirst())
        process.environment = ["PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            info.reason = "cannot run \(language.version[0]): \(error.localizedDescription)"
            return info
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let firstLine = String(decoding: data, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        guard process.terminationStatus == 0, !firstLine.isEmpty else {
            info.reason = "version probe failed (exit \(process.terminationStatus)): \(firstLine)"
            return info
        }
        info.available = true
        info.version = firstLine.trimmingCharacters(in: .whitespaces)
        return info
    }

    public static func probeAll(_ catalog: LanguageCatalog) async -> [LanguageInfo] {
        await withTaskGroup(of: (Int, LanguageInfo).self) { group in
            for (i, language) in catalog.languages.enumerated() {
                group.addTask { (i, probe(language)) }
            }
            var infos = [LanguageInfo?](repeating: nil, count: catalog.languages.count)
            for await (i, info) in group { infos[i] = info }
            return infos.compactMap { $0 }
        }
    }
}
