import ArgumentParser
import CorralEngine
import CorralPolicy
import CorralStore
import Foundation

extension Corral {
    /// `corral validate`: what a program tries to do, before it runs (the engine's `validate`, as `POST /v1/validate`).
    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "validate",
            abstract: "Find dangerous code before it runs.",
            discussion: """
            Python and JavaScript are analysed on their syntax trees (parsed inside a jail); the other \
            languages with patterns. The language comes from the file's extension unless --lang is given; \
            '-' reads the code from standard input (then --lang is required).
            Exit status: 0 when the code is safe, or in the default warn mode; 1 with --strict when findings \
            reach the threshold or the analysis gave up; 64 for bad input; 125 if Corral failed.
            """
        )

        @Option(name: [.customLong("lang"), .customShort("l")], help: "Language (default: from the file's extension).")
        var language: String?

        @Argument(help: "Source file, or '-' to read the code from standard input.")
        var file: String

        @Flag(help: "Exit 1 when findings reach the threshold (strict mode).")
        var strict = false

        @Flag(help: "Print the report as JSON (the object POST /v1/validate returns).")
        var json = false

        @Option(help: "Severity at which findings make code unsafe: low, medium, high, critical (default: high).")
        var threshold: String?

        @Option(help: "Validate under a limit profile's policy: development, testing, production.")
        var profile: String?

        @Flag(name: .customLong("allow-network"), help: "Lower the severity of network findings.")
        var allowNetwork = false

        @Flag(name: .customLong("allow-filesystem"), help: "Lower the severity of filesystem findings.")
        var allowFilesystem = false

        @Option(name: .customLong("authorized-import"), help: ArgumentHelp(
            "A module the code may import (repeatable); any other import is a high finding.", valueName: "MODULE"))
        var authorizedImports: [String] = []

        func run() async throws {
            let source = try readSource()
            let local = try LocalEngine.start(history: InMemoryHistoryStore())
            let report = try await local.use { engine in
                guard let languageName = language ?? engine.runtime.catalog.language(forFile: file)?.name else {
                    throw CLIFailure.usage(file == "-" ? "code on standard input needs --lang"
                                           : "cannot tell the language of \(file) from its extension; use --lang")
                }
                do throws(EngineError) { return try await engine.validate(request(language: languageName, code: source)) } catch {
                    throw CLIFailure(error)
                }
            }
            try show(report)
            if strict && !report.isSafe { throw ExitCode(1) }
        }

        /// The flags as the request `POST /v1/validate` takes: a flag left off keeps the profile's choice.
        private func request(language: String, code: String) -> ValidateRequest {
            var request = ValidateRequest(code: code, language: language)
            request.profile = profile
            request.threshold = threshold
            request.strictMode = strict ? true : nil
            request.allowNetwork = allowNetwork ? true : nil
            request.allowFilesystem = allowFilesystem ? true : nil
            if !authorizedImports.isEmpty {
                request.authorizedImports = authorizedImports.flatMap { $0.split(separator: ",").map(String.init) }
            }
            return request
        }

        private func readSource() throws -> String {
            if file == "-" { return String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) else {
                throw CLIFailure.usage("no such file: \(file)")
            }
            if isDirectory.boolValue { throw CLIFailure.usage("\(file) is a directory; give a source file") }
            guard let data = FileManager.default.contents(atPath: file) else { throw CLIFailure.usage("cannot read \(file)") }
            return String(decoding: data, as: UTF8.self)
        }

        private func show(_ report: ValidationReport) throws {
            if json {
                try printJSON(report)
                return
            }
            let name = file == "-" ? "<stdin>" : file
            var lines = report.findings.map { $0.cliLine(file: name) }
            if let error = report.error { lines.append("\(name): analysis fell back to patterns: \(error)") }
            let verdict = report.isSafe ? "safe" : "UNSAFE"
            lines.append("corral: \(verdict) · \(report.language) · \(report.findings.count) finding(s) · "
                         + "analysis \(report.analysis.rawValue) · threshold \(report.threshold.rawValue) · "
                         + String(format: "%.1f ms", report.durationMs))
            StandardStream.output.line(lines.joined(separator: "\n"))
        }
    }
}
