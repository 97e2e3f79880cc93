/// The agent's tools: Python functions defined in the session's context before the first step.
/// Each is declared once here; the system prompt shows its signature and docstring, the context
/// gets its definition. They run inside the jail with the model's code, with the session's limits.
/// A tool that needs the host (the diff of the shadow copy) asks for it over one narrow channel: a
/// marker line on stdout that the loop replaces with what the host computed, never host access.
public struct AgentTool: Sendable {
    public let name: String
    public let signature: String
    public let doc: String
    let body: String

    /// The Python definition.
    var definition: String {
        "def \(name)\(signature):\n    \"\"\"\(doc)\"\"\"\n" + body.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n")
    }
}

public enum AgentTools {
    /// The line `preview_changes()` prints; the loop puts the shadow copy's diff in its place.
    static let previewMarker = "[[corral:preview_changes]]"
    /// The exception `final_answer` raises (a BaseException: `except Exception` in the model's code does not swallow it).
    static let finalAnswerName = "FinalAnswer"

    /// What every run's context gets besides the tools: `final_answer` and the exception it raises.
    static let finalAnswer = """
    class FinalAnswer(BaseException):
        pass
    def final_answer(answer):
        \"\"\"Ends the run with `answer` (any value; it is shown as text).\"\"\"
        raise FinalAnswer(str(answer))
    """

    /// The modules the tools use and their helper: inside the factory that makes the tools, so
    /// that none is a global of the context (the model's code imports only what it is allowed).
    static let toolPrelude = """
    import os as _os, re as _re, fnmatch as _fnmatch, subprocess as _subprocess, ast as _ast, py_compile as _py_compile
    def _corral_files(directory, file_pattern):
        for root, dirs, files in _os.walk(directory):
            dirs[:] = [d for d in dirs if not d.startswith('.')]
            for f in files:
                if _fnmatch.fnmatch(f, file_pattern):
                    yield _os.path.relpath(_os.path.join(root, f), '.')
    """

    public static let all: [AgentTool] = [
        AgentTool(name: "search_files", signature: "(pattern: str, directory: str = \".\") -> list",
                  doc: "Paths of the files under `directory` whose name matches the glob `pattern` (e.g. '*.py').",
                  body: "return sorted(_corral_files(directory, pattern))[:500]"),
        AgentTool(name: "grep_code", signature: "(pattern: str, file_pattern: str = \"*\", directory: str = \".\") -> dict",
                  doc: "Lines matching the regular expression `pattern` in files matching `file_pattern`: {path: ['12: the line', ...]}.",
                  body: """
                  rx, found = _re.compile(pattern), {}
                  for path in _corral_files(directory, file_pattern):
                      try:
                          with open(path, errors='replace') as f:
                              hits = [f"{i}: {line.rstrip()}" for i, line in enumerate(f, 1) if rx.search(line)]
                      except OSError:
                          continue
                      if hits:
                          found[path] = hits[:50]
                  return found
                  """),
        AgentTool(name: "find_pattern", signature: "(pattern: str, file_pattern: str = \"*.py\") -> dict",
                  doc: "Every match of the regular expression `pattern` in files matching `file_pattern`: {path: [(line_number, line), ...]}.",
                  body: """
                  rx, found = _re.compile(pattern), {}
                  for path in _corral_files('.', file_pattern):
                      try:
                          with open(path, errors='replace') as f:
                              hits = [(i, line.rstrip()) for i, line in enumerate(f, 1) if rx.search(line)]
                      except OSError:
                          continue
                      if hits:
                          found[path] = hits
                  return found
                  """),
        AgentTool(name: "read_file", signature: "(path: str) -> str", doc: "The text of the file at `path`.",
                  body: "with open(path, errors='replace') as f:\n    return f.read()"),
        AgentTool(name: "analyze_file", signature: "(filepath: str) -> dict",
                  doc: "Size, line count and, for Python, the functions, classes and imports of a file.",
                  body: """
                  with open(filepath, errors='replace') as f:
                      text = f.read()
                  info = {'path': filepath, 'bytes': len(text.encode()), 'lines': text.count('\\n') + (0 if text.endswith('\\n') or not text else 1)}
                  if filepath.endswith('.py'):
                      try:
                          tree = _ast.parse(text)
                          info['functions'] = [n.name for n in _ast.walk(tree) if isinstance(n, (_ast.FunctionDef, _ast.AsyncFunctionDef))]
                          info['classes'] = [n.name for n in _ast.walk(tree) if isinstance(n, _ast.ClassDef)]
                          info['imports'] = sorted({a.name for n in _ast.walk(tree) if isinstance(n, _ast.Import) for a in n.names}
                                                   | {n.module for n in _ast.walk(tree) if isinstance(n, _ast.ImportFrom) and n.module})
                      except SyntaxError as e:
                          info['syntax_error'] = str(e)
                  return info
                  """),
        AgentTool(name: "write_file", signature: "(path: str, content: str) -> str",
                  doc: "Writes `content` to the file at `path` (directories are made); returns what was written.",
                  body: """
                  d = _os.path.dirname(path)
                  if d:
                      _os.makedirs(d, exist_ok=True)
                  with open(path, 'w') as f:
                      f.write(content)
                  return f"wrote {len(content)} characters to {path}"
                  """),
        AgentTool(name: "apply_changes", signature: "(pattern: str, replacement: str, file_pattern: str = \"*.py\") -> dict",
                  doc: "Replaces every match of the regular expression `pattern` by `replacement` (re.sub syntax) in files matching `file_pattern`, on the working copy: {path: replacements}.",
                  body: """
                  rx, changed = _re.compile(pattern), {}
                  for path in _corral_files('.', file_pattern):
                      # surrogateescape: bytes that are not UTF-8 are written back as they were.
                      with open(path, encoding='utf-8', errors='surrogateescape') as f:
                          text = f.read()
                      new, n = rx.subn(replacement, text)
                      if n:
                          with open(path, 'w', encoding='utf-8', errors='surrogateescape') as f:
                              f.write(new)
                          changed[path] = n
                  return changed
                  """),
        AgentTool(name: "run_bash_command", signature: "(command: str, timeout: int = 60) -> str",
                  doc: "Runs `command` with bash in the working directory; its output (stdout and stderr) and exit code.",
                  body: """
                  p = _subprocess.run(['/bin/bash', '-c', command], capture_output=True, text=True, timeout=timeout)
                  return (p.stdout + p.stderr)[-20000:] + f"\\n[exit code {p.returncode}]"
                  """),
        AgentTool(name: "run_tests", signature: "(command: str = \"python3 -m pytest -q\") -> str",
                  doc: "Runs the project's tests with `command`; their output and exit code.",
                  body: """
                  p = _subprocess.run(['/bin/bash', '-c', command], capture_output=True, text=True, timeout=300)
                  return (p.stdout + p.stderr)[-20000:] + f"\\n[exit code {p.returncode}]"
                  """),
        AgentTool(name: "verify_compilation", signature: "(file_pattern: str = \"*.py\") -> dict",
                  doc: "Compiles every Python file matching `file_pattern`: {'ok': count, 'errors': {path: message}}.",
                  body: """
                  ok, errors = 0, {}
                  for path in _corral_files('.', file_pattern):
                      try:
                          _py_compile.compile(path, cfile='/tmp/_corral_check.pyc', doraise=True)
                          ok += 1
                      except _py_compile.PyCompileError as e:
                          errors[path] = str(e.msg)
                  return {'ok': ok, 'errors': errors}
                  """),
        AgentTool(name: "preview_changes", signature: "() -> str",
                  doc: "Shows the diff of every change made to the working copy so far (after this step's output).",
                  body: "print(\"\(previewMarker)\")\nreturn 'the diff of the working copy follows this step'"),
        AgentTool(name: "summarize_findings", signature: "(findings: dict) -> str",
                  doc: "Formats `findings` ({topic: detail or list}) as readable text, e.g. for final_answer.",
                  body: """
                  lines = []
                  for k, v in findings.items():
                      if isinstance(v, (list, tuple)):
                          lines.append(f"{k}:")
                          lines.extend(f"  - {x}" for x in v)
                      else:
                          lines.append(f"{k}: {v}")
                  return '\\n'.join(lines)
                  """),
    ]

    public static func named(_ name: String) -> AgentTool? { all.first { $0.name == name } }

    /// The code run once in the context (and again after a restart): `final_answer`, and the
    /// preset's tools made by a factory that is deleted afterwards, so only the tools are globals.
    static func definitions(_ names: [String]) -> String {
        let body = ([toolPrelude] + names.compactMap(named).map(\.definition)).joined(separator: "\n")
        let indented = body.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "    " + $0 }.joined(separator: "\n")
        let exported = names.filter { named($0) != nil }.map { "'\($0)': \($0)" }.joined(separator: ", ")
        return finalAnswer + "\ndef _corral_tools():\n" + indented + "\n    return {\(exported)}\nglobals().update(_corral_tools())\ndel _corral_tools\n"
    }
}
