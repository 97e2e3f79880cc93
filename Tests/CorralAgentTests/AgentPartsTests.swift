@testable import CorralAgent
import Testing

/// The parts of the agent that need no jail: code extraction, presets, settings.
@Suite("Agent parts")
struct AgentPartsTests {
    @Test("code blocks: python/py/bare fences, several blocks, prose around them, other languages skipped, an unclosed fence")
    func codeBlocks() {
        #expect(CodeBlocks.extract("Thought: grep.\n```python\nx = 1\n```\nThen more.") == "x = 1")
        #expect(CodeBlocks.extract("```py\na = 1\n```\ntext\n```\nb = 2\n```") == "a = 1\n\nb = 2")
        #expect(CodeBlocks.extract("Code:\n```py\nfinal_answer(3)\n```<end_code>") == "final_answer(3)")
        #expect(CodeBlocks.extract("```bash\nls\n```\n```json\n{}\n```") == nil)
        #expect(CodeBlocks.extract("no code at all") == nil)
        #expect(CodeBlocks.extract("```python\nprint('cut off')") == "print('cut off')")
        #expect(CodeBlocks.extract("  ```Python  \n    if x:\n        y = 1\n  ```") == "if x:\n    y = 1", "a block indented as a whole is dedented")
        #expect(CodeBlocks.extract("```python\n```") == nil)
    }

    @Test("the shipped presets load: digger read-only, codemod and general on a shadow copy, every tool defined")
    func presets() throws {
        let presets = try AgentPresets.bundled()
        #expect(presets.names == ["codemod", "digger", "general"])
        #expect(try presets.resolve("digger").preset.mount == "readonly")
        #expect(try presets.resolve("digger").template.memoryMb == 512)
        #expect(try presets.resolve("codemod").preset.mount == "shadow")
        #expect(try presets.resolve(nil).name == "general")
        #expect(throws: AgentError.self) { try presets.resolve("nope") }
        for name in presets.names {
            let tools = try presets.resolve(name).preset.tools
            let code = AgentTools.definitions(tools)
            #expect(tools.allSatisfy { code.contains("def \($0)(") })
        }
    }

    @Test("settings: an https URL, an empty model, a bad URL are refused with what to do; a base URL gains /chat/completions")
    func settings() throws {
        #expect(throws: AgentError.self) { try LLMSettings(url: "https://api.openai.com/v1", model: "gpt", apiKey: nil).endpoint() }
        #expect(throws: AgentError.self) { try LLMSettings(url: "http://127.0.0.1:1/v1", model: "", apiKey: nil).endpoint() }
        #expect(throws: AgentError.self) { try LLMSettings(url: "not a url", model: "m", apiKey: nil).endpoint() }
        var huge = LLMSettings(url: "http://127.0.0.1:8080/v1", model: "m", apiKey: nil)
        huge.timeoutSeconds = 1e300
        #expect(throws: AgentError.self) { try huge.endpoint() }
        let endpoint = try LLMSettings(url: "http://127.0.0.1:8080/v1/", model: "m", apiKey: nil).endpoint()
        #expect(endpoint.path == "/v1/chat/completions" && endpoint.port == 8080)
        #expect(try LLMSettings(url: "http://localhost:11434/v1/chat/completions", model: "m", apiKey: nil).endpoint().path == "/v1/chat/completions")
    }

    @Test("a model reply without choices, or not JSON, is the model's failure, said so")
    func malformedReplies() {
        if case .failure(let e) = LLMClient.parse(Array("{}".utf8), attempts: 1) { #expect(e.description.contains("choices")) } else { Issue.record("accepted {}") }
        if case .failure(let e) = LLMClient.parse(Array("<html>".utf8), attempts: 1) { #expect(e.description.contains("not JSON")) } else { Issue.record("accepted html") }
        let ok = LLMClient.parse(Array(#"{"choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#.utf8), attempts: 2)
        if case .success(let c) = ok { #expect(c.content == "hi" && c.totalTokens == 5 && c.attempts == 2) } else { Issue.record("refused a good reply") }
    }
}
