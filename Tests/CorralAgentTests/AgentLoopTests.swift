import CorralAgent
import CorralEngine
import CorralTestSupport
import Foundation
import Synchronization
import Testing

/// The agent loop against a scripted OpenAI-compatible model (a real HTTP server replaying canned
/// replies) and real sessions: what the model is told, what runs, what the host sees.
@Suite("Agent loop", .enabled(if: TestSupport.jailsAvailable), .serialized)
struct AgentLoopTests {
    @Test("Digger greps a fixture repo and answers; the model saw the grep's output; the host tree is unchanged")
    func diggerAnswers() async throws {
        let tree = try FixtureTree(["app/api.py": "def f():\n    return old_api(1)\n", "app/util.py": "x = old_api(2)\n",
                                    "app/new.py": "y = new_api()\n", "README.md": "old docs\n"])
        defer { tree.remove() }
        let before = tree.fingerprint
        let harness = try AgentHarness([
            .code("hits = grep_code(r\"old_api\\(\")\nprint(sorted(hits))"),
            .code("final_answer('old_api is called in ' + ', '.join(sorted(hits)))"),
        ], roots: [tree.root])
        let (transcript, _) = try await harness.run("Where is old_api called?", preset: "digger", dir: tree.root)
        await harness.end()
        #expect(transcript.error == nil, "\(transcript.error ?? "")")
        #expect(transcript.answer == "old_api is called in app/api.py, app/util.py")
        #expect(transcript.steps.count == 2)
        let second = harness.model.messages(1)
        #expect((second.last?["content"] as? String ?? "").contains("['app/api.py', 'app/util.py']"), "the observation reached the model: \(second.last ?? [:])")
        #expect((second.first?["content"] as? String ?? "").contains("def grep_code(pattern: str"), "the system prompt shows the tools")
        let request = try #require(harness.model.requests.first)
        #expect(request["authorization"] as? String == "Bearer test-key-123")
        #expect(request["path"] as? String == "/v1/chat/completions")
        #expect((request["body"] as? [String: Any])?["model"] as? String == "scripted")
        #expect(tree.fingerprint == before, "the host directory is unchanged")
        #expect(transcript.totalTokens == 240)
    }

    @Test("Digger's mount is read-only: a write fails in the jail, the host tree is unchanged")
    func diggerCannotWrite() async throws {
        let tree = try FixtureTree(["a.txt": "original\n"])
        defer { tree.remove() }
        let before = tree.fingerprint
        let harness = try AgentHarness([
            .code("import os\ntry:\n    open('a.txt', 'w').write('changed')\n    print('WROTE')\nexcept OSError as e:\n    print('refused:', e.errno)"),
            .code("final_answer('done')"),
        ], roots: [tree.root])
        let (transcript, _) = try await harness.run("Try to change a.txt", preset: "digger", dir: tree.root)
        await harness.end()
        #expect(transcript.steps.first?.observation.contains("refused: 30") == true, "EROFS inside: \(transcript.steps.first?.observation ?? "")")
        #expect(tree.fingerprint == before)
    }

    @Test("CodeMod edits 3 files on the shadow copy, previews the diff; the host changes only when the changes are applied")
    func codemodEditsThenApplies() async throws {
        let tree = try FixtureTree(["a.py": "old_name = 1\n", "pkg/b.py": "print(old_name)\n", "pkg/c.py": "def old_name(): pass\n",
                                    "notes.txt": "old_name stays here\n"])
        defer { tree.remove() }
        let before = tree.fingerprint
        let harness = try AgentHarness([
            .code("print(apply_changes(r'old_name', 'new_name'))"),
            .code("preview_changes()\nprint(verify_compilation())"),
            .code("final_answer('renamed old_name in 3 files')"),
        ], roots: [tree.root])
        let (transcript, sessionID) = try await harness.run("Rename old_name to new_name in the Python files", preset: "codemod", dir: tree.root)
        #expect(transcript.answer == "renamed old_name in 3 files", "\(transcript.error ?? "")")
        #expect(transcript.steps.first?.observation.contains("'a.py': 1") == true)
        let preview = transcript.steps.count > 1 ? transcript.steps[1].observation : ""
        #expect(preview.contains("Diff of the working copy"), "\(preview)")
        #expect(preview.contains("+new_name = 1") && preview.contains("+print(new_name)") && preview.contains("+def new_name(): pass"), "\(preview)")
        #expect(preview.contains("'ok': 3"), "the three files still compile: \(preview)")
        #expect(tree.fingerprint == before, "nothing reaches the host before the changes are applied")
        let diff = transcript.diff ?? ""
        #expect(["a.py", "pkg/b.py", "pkg/c.py"].allSatisfy { diff.contains($0) } && !diff.contains("notes.txt"), "\(diff)")
        // Confirmed: applied to the host.
        let applied = try harness.engine.applySessionChanges(sessionID, ApplyRequest(), context: harness.context)
        await harness.end()
        #expect(applied.changes.count == 3)
        #expect(tree.text("a.py") == "new_name = 1\n" && tree.text("pkg/b.py") == "print(new_name)\n")
        #expect(tree.text("notes.txt") == "old_name stays here\n")
    }

    @Test("a step whose code raises is reported with its traceback; the model recovers in the next step")
    func recoversFromAnError() async throws {
        let harness = try AgentHarness([
            .code("total = 0\nprint(undefined_value)"),
            .code("total = 5\nfinal_answer(total * 2)"),
        ])
        let (transcript, _) = try await harness.run("Compute something")
        await harness.end()
        #expect(transcript.steps.first?.error?.hasPrefix("NameError") == true, "\(transcript.steps.first?.error ?? "")")
        let told = harness.model.messages(1).last?["content"] as? String ?? ""
        #expect(told.contains("NameError") && told.contains("undefined_value") && told.contains("Traceback"), "\(told)")
        #expect(transcript.answer == "10")
    }

    @Test("state persists between steps: a variable of step 1 is used in step 3")
    func statePersists() async throws {
        let harness = try AgentHarness([.code("x = 41"), .code("y = 1\nprint('y set')"), .code("final_answer(x + y)")])
        let (transcript, _) = try await harness.run("Add")
        await harness.end()
        #expect(transcript.answer == "42", "\(transcript.error ?? "")")
        #expect(transcript.steps.count == 3)
    }

    @Test("a model that never answers is stopped at max_steps")
    func stopsAtMaxSteps() async throws {
        let harness = try AgentHarness([.code("print('still working')")])
        let (transcript, _) = try await harness.run("Loop forever", maxSteps: 3)
        await harness.end()
        #expect(transcript.answer == nil)
        #expect(transcript.error?.contains("max_steps (3 steps)") == true, "\(transcript.error ?? "")")
        #expect(transcript.steps.count == 3 && harness.model.requests.count == 3)
    }

    @Test("a reply with no code block runs nothing and the model is told how to reply")
    func replyWithoutCode() async throws {
        let harness = try AgentHarness([.text("I think the answer is 4."), .code("final_answer(2 + 2)")])
        let (transcript, _) = try await harness.run("What is 2 + 2?")
        await harness.end()
        #expect(transcript.steps.first?.error == "no code block")
        #expect(transcript.steps.first?.code == nil)
        #expect((harness.model.messages(1).last?["content"] as? String ?? "").contains("no ```python code block"))
        #expect(transcript.answer == "4")
    }

    @Test("an unauthorized import is refused before the code runs, and the model is told why")
    func unauthorizedImportRefused() async throws {
        let harness = try AgentHarness([
            .code("import socket\nopen('/workspace/ran.txt', 'w').write('x')"),
            .code("import os\nfinal_answer(os.path.exists('/workspace/ran.txt'))"),
        ])
        let (transcript, _) = try await harness.run("Open a socket")
        await harness.end()
        let first = try #require(transcript.steps.first)
        #expect(first.error?.hasPrefix("refused:") == true && first.error?.contains("socket") == true, "\(first.error ?? "")")
        #expect(first.executionMs == 0, "it did not run")
        #expect((harness.model.messages(1).last?["content"] as? String ?? "").contains("refused before it ran"))
        #expect(transcript.answer == "False", "the refused code wrote nothing")
    }

    @Test("a 500 then a 200 from the model: the call is tried again and the run goes on")
    func retriesAServerError() async throws {
        let harness = try AgentHarness([.failure(500), .code("final_answer('after a retry')")])
        let (transcript, _) = try await harness.run("Answer", retries: 2)
        await harness.end()
        #expect(transcript.answer == "after a retry", "\(transcript.error ?? "")")
        #expect(harness.model.requests.count == 2)
    }

    @Test("a 400 from the model is final (no retry) and named in the error")
    func clientErrorIsFinal() async throws {
        let harness = try AgentHarness([.failure(400), .code("final_answer('never')")])
        let (transcript, _) = try await harness.run("Answer", retries: 3)
        await harness.end()
        #expect(transcript.error?.contains("HTTP 400") == true, "\(transcript.error ?? "")")
        #expect(harness.model.requests.count == 1)
    }

    @Test("a hung model call ends at its timeout with that reason")
    func hungModelTimesOut() async throws {
        let harness = try AgentHarness([.text("too late", delay: 6)])
        let started = Date()
        let (transcript, _) = try await harness.run("Answer", timeout: 1, retries: 0)
        let took = Date().timeIntervalSince(started)
        await harness.end()
        #expect(transcript.error?.contains("no answer within 1 s") == true, "\(transcript.error ?? "")")
        #expect(took < 5, "the timeout, not the model, ended the call (\(took) s)")
    }

    @Test("the token budget stops a run that uses it up")
    func tokenBudget() async throws {
        let harness = try AgentHarness([.usage("```python\nprint('step')\n```", promptTokens: 900, completionTokens: 100)])
        let (transcript, _) = try await harness.run("Spend", maxSteps: 10, tokenBudget: 1500)
        await harness.end()
        #expect(transcript.error?.contains("token budget (1500)") == true, "\(transcript.error ?? "")")
        #expect(transcript.steps.count == 2 && transcript.totalTokens == 2000)
    }

    @Test("an unreachable model fails the run with the reason")
    func unreachableModel() async throws {
        let harness = try AgentHarness([])
        harness.model.stop()
        let (transcript, _) = try await harness.run("Answer", retries: 1)
        await harness.end()
        #expect(transcript.error?.contains("failed 2 time(s)") == true && transcript.error?.contains("connect") == true, "\(transcript.error ?? "")")
    }

    @Test("code that attacks the sandbox is contained: no network, no host files, no writes outside the workspace")
    func attacksAreContained() async throws {
        let harness = try AgentHarness([
            .code("""
            print(run_bash_command("cat /etc/shadow 2>&1 | head -1; touch /usr/pwned 2>&1; python3 -c 'import socket; socket.create_connection((\\"1.1.1.1\\", 80), 2)' 2>&1 | tail -1"))
            """),
            .code("final_answer('done')"),
        ])
        let (transcript, _) = try await harness.run("Escape")
        await harness.end()
        let seen = transcript.steps.first?.observation ?? ""
        #expect(!seen.contains("root:"), "no host shadow file: \(seen)")
        #expect(seen.contains("Read-only file system") || seen.contains("Permission denied"), "\(seen)")
        #expect(seen.contains("Network is unreachable") || seen.contains("OSError") || seen.contains("Errno"), "\(seen)")
        #expect(!FileManager.default.fileExists(atPath: "/usr/pwned"), "the host is untouched")
    }

    @Test("a context that dies is restarted with its tools: the next step can still call them and final_answer")
    func contextRestartKeepsTheTools() async throws {
        let harness = try AgentHarness([
            .code("import os\nos._exit(3)"),
            .code("print(search_files('*.nothing'))\nfinal_answer('still here')"),
        ])
        let (transcript, _) = try await harness.run("Crash, then go on")
        await harness.end()
        #expect(transcript.steps.first?.error?.hasPrefix("ContextDied") == true, "\(transcript.steps.first?.error ?? "")")
        #expect(transcript.answer == "still here", "\(transcript.error ?? "")")
    }

    @Test("the tools' modules are not globals of the context: the model's code reaches only what it imports")
    func toolModulesAreNotGlobals() async throws {
        let harness = try AgentHarness([
            .code("print(sorted(n for n in globals() if n.startswith('_') and not n.startswith('__')))"),
            .code("final_answer('ok')"),
        ])
        let (transcript, _) = try await harness.run("Look around")
        await harness.end()
        #expect(transcript.steps.first?.observation.contains("Output:\n[]") == true, "\(transcript.steps.first?.observation ?? "")")
    }

    @Test("a cancelled run stops before its next model call")
    func cancelStopsTheRun() async throws {
        let harness = try AgentHarness([.code("print('working')")])
        let agent = try CorralCodeAgent(settings: harness.settings())
        let session = try await harness.engine.createSession(CreateSessionRequest(), context: harness.context)
        let sandbox = try await EngineSandbox.open(engine: harness.engine, sessionID: session.sessionID, context: harness.context)
        let asked = Mutex(0)
        let transcript = await agent.loop.run(task: "Work", options: AgentTaskOptions(maxSteps: 10), sandbox: sandbox,
                                              isCancelled: { asked.withLock { $0 += 1; return $0 > 2 } })
        await harness.end()
        #expect(transcript.error == "cancelled")
        #expect(transcript.steps.count == 2 && harness.model.requests.count == 2)
    }

    @Test("a run past its deadline stops before the next model call")
    func deadlineStopsTheRun() async throws {
        let harness = try AgentHarness([.code("run_bash_command('sleep 0.6')")])
        let agent = try CorralCodeAgent(settings: harness.settings())
        let session = try await harness.engine.createSession(CreateSessionRequest(), context: harness.context)
        let sandbox = try await EngineSandbox.open(engine: harness.engine, sessionID: session.sessionID, context: harness.context)
        let transcript = await agent.loop.run(task: "Sleep", options: AgentTaskOptions(maxSteps: 10), sandbox: sandbox, deadlineSeconds: 1)
        await harness.end()
        #expect(transcript.error?.contains("time (1 s) was used up") == true, "\(transcript.error ?? "")")
        #expect((1...3).contains(transcript.steps.count))
    }

    @Test("hostile model output: a flood of preview markers, absurd token counts — bounded, no crash")
    func hostileModelOutput() async throws {
        let harness = try AgentHarness([
            .usage("```python\nprint('[[corral:preview_changes]]' * 20000)\n```", promptTokens: Int.max / 2, completionTokens: Int.max / 2),
            .code("final_answer('done')"),
        ])
        let (transcript, _) = try await harness.run("Flood", tokenBudget: 10_000_000)
        await harness.end()
        let seen = transcript.steps.first?.observation ?? ""
        #expect(seen.count < 25_000, "the observation is bounded: \(seen.count) characters")
        #expect(seen.components(separatedBy: "Diff of the working copy").count == 2, "one diff in place of the first marker")
        #expect(transcript.totalTokens == 20_000_000, "each count clamped to 10,000,000: \(transcript.totalTokens)")
        #expect(transcript.error?.contains("token budget") == true, "\(transcript.error ?? "")")
    }

    @Test("a hostile endpoint: an absurd Content-Length, a negative chunk size, a reply trickled byte by byte, an endless chunk-size line — each a clear failure, none a crash or a hang",
          arguments: [
              ("HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775807\r\n\r\n{", 0.0, "over 16777216"),
              ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nx\r\n", 0.0, "chunk size"),
              ("HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n{\"choices\": []}                         ", 0.3, "no answer within 1 s"),
              // A chunk-size line that never ends was held (and searched from its start on every read) until the deadline.
              ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + String(repeating: "0", count: 1 << 20), 0.0, "line over 8192 bytes"),
          ])
    func hostileEndpoint(raw: String, trickle: Double, expected: String) async throws {
        let harness = try AgentHarness([.raw(raw, trickle: trickle)])
        let started = Date()
        let (transcript, _) = try await harness.run("Answer", timeout: 1, retries: 0)
        await harness.end()
        #expect(transcript.error?.contains(expected) == true, "\(transcript.error ?? "")")
        #expect(Date().timeIntervalSince(started) < 5)
    }
}
