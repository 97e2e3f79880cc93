import Foundation
import Testing

/// Every command of `corral` names itself in its `CommandConfiguration`. Without a name,
/// ArgumentParser derives one with `String(describing:)` of the type, a runtime protocol-conformance
/// scan over the whole binary per command, on every process start: 2.3 ms of `corral --version`'s
/// 11.1 ms of CPU before the names were given (perf stat -r 30, this 2-core VM; docs/fork-server.md).
@Suite("CLI command names")
struct CommandNameTests {
    static let sources = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/corral")

    @Test("every CommandConfiguration in Sources/corral gives commandName")
    func everyCommandIsNamed() throws {
        let files = try #require(FileManager.default.enumerator(atPath: Self.sources.path)?.compactMap { $0 as? String })
        var configurations = 0
        var unnamed: [String] = []
        for file in files where file.hasSuffix(".swift") {
            let text = try String(contentsOf: Self.sources.appendingPathComponent(file), encoding: .utf8)
            var rest = text[...]
            while let range = rest.range(of: "CommandConfiguration(") {
                configurations += 1
                let arguments = rest[range.upperBound...].drop { $0.isWhitespace }
                if !arguments.hasPrefix("commandName:") {
                    let line = text[..<range.lowerBound].count { $0 == "\n" } + 1
                    unnamed.append("\(file):\(line)")
                }
                rest = rest[range.upperBound...]
            }
        }
        #expect(configurations >= 20, "found only \(configurations) command configurations under \(Self.sources.path)")
        #expect(unnamed.isEmpty, "give these commands commandName: \(unnamed)")
    }
}
