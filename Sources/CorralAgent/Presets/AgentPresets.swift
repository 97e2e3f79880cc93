import Foundation

/// Seed 004's templates (limits and authorized imports) and presets (Digger, CodeMod, and a
/// general one), read from `Resources/presets.json`.
public struct AgentPresets: Sendable {
    public struct Template: Sendable, Decodable {
        public var memoryMb: Int
        public var timeoutSeconds: Double
        public var network: Bool
        public var authorizedImports: [String]
        enum CodingKeys: String, CodingKey {
            case network
            case memoryMb = "memory_mb"
            case timeoutSeconds = "timeout_seconds"
            case authorizedImports = "authorized_imports"
        }
    }

    public struct Preset: Sendable, Decodable {
        public var description: String
        public var template: String
        /// `readonly` or `shadow`: how a directory given to the run is mounted.
        public var mount: String
        /// Imports the model's code may use (the preset's list, as in seed 004, over the template's).
        public var authorizedImports: [String]
        public var tools: [String]
        public var maxSteps: Int
        enum CodingKeys: String, CodingKey {
            case description, template, mount, tools
            case authorizedImports = "authorized_imports"
            case maxSteps = "max_steps"
        }
    }

    public let templates: [String: Template]
    public let presets: [String: Preset]

    private struct File: Decodable {
        var templates: [String: Template]
        var presets: [String: Preset]
    }

    /// The presets shipped with Corral; a file that does not load, or names a missing template or
    /// tool, is a build defect (the tests load it).
    public static func bundled() throws(AgentError) -> AgentPresets {
        guard let url = Bundle.module.url(forResource: "presets", withExtension: "json") else {
            throw .configuration("the agent's presets.json is missing from the build")
        }
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: Data(contentsOf: url)) } catch {
            throw .configuration("the agent's presets.json cannot be read: \(error)")
        }
        for (name, preset) in file.presets {
            guard file.templates[preset.template] != nil else { throw .configuration("preset \(name) names no template '\(preset.template)'") }
            guard ["readonly", "shadow"].contains(preset.mount) else { throw .configuration("preset \(name): mount must be readonly or shadow") }
            if let unknown = preset.tools.first(where: { AgentTools.named($0) == nil }) {
                throw .configuration("preset \(name) names no tool '\(unknown)'")
            }
        }
        return AgentPresets(templates: file.templates, presets: file.presets)
    }

    public var names: [String] { presets.keys.sorted() }

    /// The preset `name` (default `general`) and its template; throws what names exist.
    public func resolve(_ name: String?) throws(AgentError) -> (name: String, preset: Preset, template: Template) {
        let key = name ?? "general"
        guard let preset = presets[key], let template = templates[preset.template] else {
            throw .configuration("no agent preset '\(key)' (presets: \(names.joined(separator: ", ")))")
        }
        return (key, preset, template)
    }
}
