import ArgumentParser
import CorralAgent
import Foundation

/// Where the code agent's model is (`corral serve`, `corral agent`): flags, then CORRAL_LLM_URL and
/// CORRAL_LLM_MODEL; the key only from CORRAL_LLM_API_KEY (never a flag: flags show in `ps`).
struct LLMOptions: ParsableArguments {
    @Option(name: .customLong("llm-url"), help: ArgumentHelp(
        "An OpenAI-compatible chat-completions API for the code agent (also CORRAL_LLM_URL); key in CORRAL_LLM_API_KEY.",
        valueName: "http://HOST:PORT/v1"))
    var url: String?
    @Option(name: .customLong("llm-model"), help: "The model to ask (also CORRAL_LLM_MODEL).")
    var model: String?
    @Option(name: .customLong("llm-timeout"), parsing: .unconditional, help: "Seconds one model call may take (default 120).")
    var timeoutSeconds: Double?
    @Option(name: .customLong("llm-retries"), parsing: .unconditional, help: "Further tries of a call answered 429/5xx or not at all (default 3).")
    var retries: Int?
    @Option(name: .customLong("llm-allow-model"), help: ArgumentHelp("Another model a request may name in 'model' (repeatable; default: only --llm-model).", valueName: "NAME"))
    var otherModels: [String] = []

    /// The settings, or nil when no URL is given anywhere; throws what to fix.
    func settings(environment env: [String: String] = ProcessInfo.processInfo.environment) throws -> LLMSettings? {
        guard let url = url ?? env["CORRAL_LLM_URL"] else {
            if model != nil { throw CLIFailure.usage("--llm-model needs --llm-url (the API that serves it)") }
            return nil
        }
        guard let model = model ?? env["CORRAL_LLM_MODEL"], !model.isEmpty else {
            throw CLIFailure.usage("--llm-url needs --llm-model (or CORRAL_LLM_MODEL): the name of the model it serves")
        }
        var settings = LLMSettings(url: url, model: model, apiKey: env["CORRAL_LLM_API_KEY"])
        if let timeoutSeconds {
            guard timeoutSeconds.isFinite, timeoutSeconds > 0, timeoutSeconds <= 3600 else {
                throw CLIFailure.usage("--llm-timeout must be more than 0 and at most 3600 seconds")
            }
            settings.timeoutSeconds = timeoutSeconds
        }
        settings.otherModels = otherModels.filter { !$0.isEmpty }
        if let retries {
            guard (0...10).contains(retries) else { throw CLIFailure.usage("--llm-retries must be between 0 and 10") }
            settings.retries = retries
        }
        return settings
    }

    /// The engine's code agent, or nil without a model.
    func codeAgent(environment env: [String: String] = ProcessInfo.processInfo.environment) throws -> CorralCodeAgent? {
        guard let settings = try settings(environment: env) else { return nil }
        do { return try CorralCodeAgent(settings: settings) } catch { throw CLIFailure.usage(error.description) }
    }
}
