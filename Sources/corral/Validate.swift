import ArgumentParser
import CorralPolicy
import CorralSandbox
import Foundation

extension Corral {
    /// `corral validate`: what a program tries to do, before it runs.
    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
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
            let rules: RuleBook
            do { rules = try RuleBook.shipped() } catch { throw CLIFailure.corralFailed("\(error)") }
            let source = try readSource()
            guard let languageName = language ?? rules.ruleSet(forFile: file)?.language else {
                throw CLIFailure.usage(file == "-" ? "code on standard input needs --lang"
                                       : "cannot tell the language of \(file) from its extension; use --lang")
            }
            guard let ruleSet = rules.ruleSet(for: languageName) else {
                throw CLIFailure.usage("no rules for language '\(languageName)'; known: \(rules.languages.joined(separator: ", "))")
            }
            var options = try resolvedOptions()
            options.timeoutSeconds = 30
            // Only syntax-tree languages need a jail (their parser runs in one); patterns run here.
            var sandbox: Sandbox?
            if ruleSet.analyzer != nil {
                var configuration = Sandbox.Configuration()
                configuration.poolSize = 0 // one analysis: a pool would only clone a jail nobody uses
                do { sandbox = try Sandbox(configuration: configuration) } catch {
                    throw CLIFailure.corralFailed("cannot start the sandbox: \(error)")
                }
            }
            let report = await PolicyValidator(sandbox: sandbox, rules: rules)
                .validate(code: source, language: ruleSet.language, options: options)
            sandbox?.shutdown()
            try show(report)
            if strict, case .refuse = Policy.decide(report, mode: .strict, threshold: options.threshold) {
                throw ExitCode(1)
            }
        }

        private func resolvedOptions() throws -> ValidationOptions {
            var options = ValidationOptions()
            if let profile {
                let catalog: ProfileCatalog
                do { catalog = try ProfileCatalog.load() } catch { throw CLIFailure.corralFailed("\(error)") }
                guard let p = catalog.profile(named: profile) else {
                    throw CLIFailure.usage("no profile '\(profile)'; known: \(catalog.names.joined(separator: ", "))")
                }
                options = p.validationOptions
            }
            if let threshold {
                guard let level = Severity(rawValue: threshold.lowercased()) else {
                    throw CLIFailure.usage("--threshold must be one of low, medium, high, critical; got '\(threshold)'")
                }
                options.threshold = level
            }
            if allowNetwork { options.allowNetwork = true }
            if allowFilesystem { options.allowFilesystem = true }
            if !authorizedImports.isEmpty {
                options.authorizedImports = authorizedImports.flatMap { $0.split(separator: ",").map(String.init) }
            }
            return options
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
            var lines = report.findings.map {
                "\(name):\($0.line):\($0.column): \($0.severity.rawValue) [\($0.category.rawValue)] \($0.message) (\($0.rule))"
            }
            if let error = report.error { lines.append("\(name): analysis fell back to patterns: \(error)") }
            let verdict = report.isSafe ? "safe" : "UNSAFE"
            lines.append("corral: \(verdict) · \(report.language) · \(report.findings.count) finding(s) · "
                         + "analysis \(report.analysis.rawValue) · threshold \(report.threshold.rawValue) · "
                         + String(format: "%.1f ms", report.durationMs))
            StandardStream.output.line(lines.joined(separator: "\n"))
        }
    }
}
