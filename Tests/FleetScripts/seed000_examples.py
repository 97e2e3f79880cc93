"""Runs seed 000's Python usage examples, verbatim, against a Corral NATS front end.

    .venv/bin/python3 Tests/FleetScripts/seed000_examples.py nats://127.0.0.1:PORT [--json]

Seed 000 ("Coding Agent Documentation", /work/shared/seeds/000_25bacc9842256bd8.txt,
sha256 9676aa0dd0786bd5e37c159927a032c28d3e02498e503b1f11ad7f47c47582c1) is not in the repository, so its examples are embedded
below as source strings, byte for byte as they appear between the seed's ```python
fences (including the seed's own characters, e.g. Example 6's check marks, which the
seed file holds already mis-decoded). `--check-seed PATH` re-extracts them from a
copy of the seed and compares.

The embedded text is never edited. What this script does around it:

* the server URL: "nats://localhost:4222" is replaced by the URL from argv with
  str.replace on the source just before it is compiled;
* Examples 2-6 only define an `async def` (they rely on Example 1's imports): each
  is exec'd in a fresh namespace holding `asyncio`, `json` and `nats`, and the
  function it defines is run with asyncio.run. Example 1 runs itself;
* the Status Endpoint and Health Check snippets use top-level `await` on an `nc`
  they assume exists: see run_snippet, the only code added around them;
* to check the shapes of the replies, `json` in each example's namespace (also what
  Example 1's own `import json` binds) is a recorder whose `loads` is the real one
  and keeps what it returned; what each example prints is captured with
  contextlib.redirect_stdout.

Each example is bounded by the timeouts it passes to nc.request itself (the snippets
pass none: nats-py's default, 0.5 s, as in the seed); a generous per-example alarm
only guards against a hang outside those.

Prints "ok <name>" or "FAIL <name>: why" per example; with --json the last line is
{name: {"ok": bool, "error": str|null}}. Exits 1 if any example failed, else 0.
"""

import argparse
import ast
import asyncio
import builtins
import contextlib
import hashlib
import inspect
import io
import json as _real_json
import numbers
import signal
import sys
import time
import traceback
import types

import nats

SEED_URL = "nats://localhost:4222"
GUARD_SECONDS = 60  # per example, only against a hang the examples' own timeouts miss

# ---------------------------------------------------------------------------
# The seed's examples, verbatim. Do not edit (not even trailing whitespace).
# ---------------------------------------------------------------------------

# ### Example 1: Execute Python Code
EXAMPLE_1 = '''\
import asyncio
import json
import nats

async def execute_python_example():
    nc = await nats.connect("nats://localhost:4222")
    
    # Prepare task request
    task = {
        "task_id": "exec-001",
        "task_type": "execute_code",
        "payload": {
            "code": """
print("Hello from Python!")
for i in range(5):
    print(f"Count: {i}")
            """,
            "language": "python",
            "timeout_seconds": 10,
            "max_memory_mb": 256
        },
        "priority": "MEDIUM"
    }
    
    # Send request and wait for response
    response = await nc.request(
        "agent.coding_agent.task",
        json.dumps(task).encode(),
        timeout=15
    )
    
    result = json.loads(response.data.decode())
    print("Execution Result:")
    print(json.dumps(result, indent=2))
    
    await nc.close()

asyncio.run(execute_python_example())
'''

# ### Example 2: Execute JavaScript Code
EXAMPLE_2 = '''\
async def execute_javascript_example():
    nc = await nats.connect("nats://localhost:4222")
    
    task = {
        "task_id": "exec-002",
        "task_type": "execute_code",
        "payload": {
            "code": """
const numbers = [1, 2, 3, 4, 5];
const sum = numbers.reduce((a, b) => a + b, 0);
console.log('Sum:', sum);

const squared = numbers.map(n => n * n);
console.log('Squared:', squared);
            """,
            "language": "javascript",
            "timeout_seconds": 10
        }
    }
    
    response = await nc.request(
        "agent.coding_agent.task",
        json.dumps(task).encode(),
        timeout=15
    )
    
    result = json.loads(response.data.decode())
    print("JavaScript Result:", result['result']['stdout'])
    
    await nc.close()
'''

# ### Example 3: Validate Code Security
EXAMPLE_3 = '''\
async def validate_code_example():
    nc = await nats.connect("nats://localhost:4222")
    
    # Test potentially dangerous code
    task = {
        "task_id": "validate-001",
        "task_type": "validate_code",
        "payload": {
            "code": """
import os
os.system('rm -rf /')
            """,
            "language": "python",
            "allow_filesystem": False
        }
    }
    
    response = await nc.request(
        "agent.coding_agent.task",
        json.dumps(task).encode(),
        timeout=5
    )
    
    result = json.loads(response.data.decode())
    print("Validation Result:")
    print(f"Is Safe: {result['result']['is_safe']}")
    print(f"Issues: {result['result']['issues']}")
    
    await nc.close()
'''

# ### Example 4: Execute with Environment Variables
EXAMPLE_4 = '''\
async def execute_with_env_example():
    task = {
        "task_id": "exec-003",
        "task_type": "execute_code",
        "payload": {
            "code": """
import os
api_key = os.getenv('API_KEY', 'not_found')
db_url = os.getenv('DATABASE_URL', 'not_found')
print(f'API Key: {api_key}')
print(f'Database: {db_url}')
            """,
            "language": "python",
            "environment_vars": {
                "API_KEY": "secret-key-123",
                "DATABASE_URL": "postgresql://localhost:5432/mydb"
            }
        }
    }
    
    nc = await nats.connect("nats://localhost:4222")
    response = await nc.request(
        "agent.coding_agent.task",
        json.dumps(task).encode(),
        timeout=15
    )
    result = json.loads(response.data.decode())
    print(result['result']['stdout'])
    await nc.close()
'''

# ### Example 5: Get Execution History
EXAMPLE_5 = '''\
async def get_history_example():
    nc = await nats.connect("nats://localhost:4222")
    
    task = {
        "task_id": "history-001",
        "task_type": "get_execution_history",
        "payload": {
            "limit": 10,
            "offset": 0,
            "language": "python",
            "status": "success"
        }
    }
    
    response = await nc.request(
        "agent.coding_agent.task",
        json.dumps(task).encode(),
        timeout=10
    )
    
    result = json.loads(response.data.decode())
    print(f"Found {result['result']['count']} executions")
    for exec in result['result']['executions']:
        print(f"  {exec['execution_id']}: {exec['language']} - {exec['status']}")
    
    await nc.close()
'''

# ### Example 6: List Supported Languages
EXAMPLE_6 = '''\
async def list_languages_example():
    nc = await nats.connect("nats://localhost:4222")
    
    task = {
        "task_id": "list-001",
        "task_type": "list_languages",
        "payload": {}
    }
    
    response = await nc.request(
        "agent.coding_agent.task",
        json.dumps(task).encode(),
        timeout=5
    )
    
    result = json.loads(response.data.decode())
    print("Supported Languages:")
    for lang, info in result['result']['languages'].items():
        status = "âœ“" if info['available'] else "âœ—"
        print(f"  {status} {lang}: {info['version']}")
    
    await nc.close()
'''

# ### Status Endpoint
STATUS_SNIPPET = '''\
# Query agent status
response = await nc.request("agent.coding_agent.status", b"{}")
status = json.loads(response.data)
'''

# ### Health Check
HEALTH_SNIPPET = '''\
response = await nc.request("agent.coding_agent.health", b"{}")
health = json.loads(response.data)
'''

SEED_BLOCKS = {
    "### Example 1: Execute Python Code": EXAMPLE_1,
    "### Example 2: Execute JavaScript Code": EXAMPLE_2,
    "### Example 3: Validate Code Security": EXAMPLE_3,
    "### Example 4: Execute with Environment Variables": EXAMPLE_4,
    "### Example 5: Get Execution History": EXAMPLE_5,
    "### Example 6: List Supported Languages": EXAMPLE_6,
    "### Status Endpoint": STATUS_SNIPPET,
    "### Health Check": HEALTH_SNIPPET,
}


# ---------------------------------------------------------------------------
# Running an example
# ---------------------------------------------------------------------------


class CheckFailed(Exception):
    pass


class GuardTimeout(Exception):
    pass


class JsonRecorder(types.ModuleType):
    """Stands in for `json` in an example's namespace: the real module, except that
    `loads` remembers what it returned (the decoded replies)."""

    def __init__(self):
        super().__init__("json")
        self.loaded = []

    def loads(self, *args, **kwargs):
        value = _real_json.loads(*args, **kwargs)
        self.loaded.append(value)
        return value

    def dumps(self, *args, **kwargs):
        return _real_json.dumps(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(_real_json, name)


def fresh_namespace(recorder):
    """A namespace for one example: `asyncio`, `json` (the recorder) and `nats`, and
    builtins whose __import__ hands out the recorder for `import json`."""
    real_import = builtins.__import__

    def example_import(name, globals=None, locals=None, fromlist=(), level=0):
        if name == "json" and level == 0:
            return recorder
        return real_import(name, globals, locals, fromlist, level)

    example_builtins = dict(vars(builtins))
    example_builtins["__import__"] = example_import
    return {
        "__name__": "__seed000_example__",
        "__builtins__": example_builtins,
        "asyncio": asyncio,
        "json": recorder,
        "nats": nats,
    }


def with_url(source, url):
    # The only change made to an example's text: the server URL.
    return source.replace(SEED_URL, url)


def run_example(name, source, url, function=None):
    """Execs the example in a fresh namespace; if it only defines `function`, runs it.
    Returns (decoded replies, printed text)."""
    recorder = JsonRecorder()
    namespace = fresh_namespace(recorder)
    printed = io.StringIO()
    code = compile(with_url(source, url), "<seed 000 %s>" % name, "exec")
    with contextlib.redirect_stdout(printed):
        exec(code, namespace)
        if function is not None:
            asyncio.run(namespace[function]())
    return recorder.loaded, printed.getvalue()


def run_snippet(name, source, url):
    """Runs a top-level-`await` snippet. Returns (its namespace, printed text)."""
    recorder = JsonRecorder()
    namespace = fresh_namespace(recorder)
    printed = io.StringIO()
    code = compile(with_url(source, url), "<seed 000 %s>" % name, "exec",
                   flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)

    # This wrapper is the only code added around the seed's snippet: the snippet
    # assumes a connected `nc`, so connect one first (and close it afterwards).
    async def wrapper():
        nc = await nats.connect(url)
        namespace["nc"] = nc
        try:
            pending = eval(code, namespace)
            if inspect.iscoroutine(pending):
                await pending
        finally:
            await nc.close()

    with contextlib.redirect_stdout(printed):
        asyncio.run(wrapper())
    return namespace, printed.getvalue()


# ---------------------------------------------------------------------------
# Shape checks
# ---------------------------------------------------------------------------


def require(condition, message):
    if not condition:
        raise CheckFailed(message)


def is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def short(value, limit=300):
    text = _real_json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def the_reply(loaded):
    require(len(loaded) >= 1, "no reply was decoded")
    reply = loaded[-1]
    require(isinstance(reply, dict), "reply is not a JSON object: %s" % short(reply))
    return reply


def the_result(reply, want_status="success"):
    if want_status is not None:
        require(reply.get("status") == want_status,
                "reply status is %s, expected %r (reply: %s)"
                % (short(reply.get("status")), want_status, short(reply)))
    result = reply.get("result")
    require(isinstance(result, dict), "reply has no result object: %s" % short(reply))
    return result


def require_keys(obj, keys, what):
    missing = [k for k in keys if k not in obj]
    require(not missing, "%s lacks %s (has %s)" % (what, ", ".join(missing), ", ".join(sorted(obj))))


EXPECTED_STDOUT_1 = "Hello from Python!\nCount: 0\nCount: 1\nCount: 2\nCount: 3\nCount: 4\n"
EXEC_RESULT_KEYS = ["status", "stdout", "stderr", "exit_code", "execution_time_ms",
                    "memory_used_mb", "output_truncated", "cached"]


def check_example_1(url):
    loaded, printed = run_example("Example 1", EXAMPLE_1, url)
    reply = the_reply(loaded)
    result = the_result(reply)
    require(reply.get("task_id") == "exec-001",
            "task_id is %s, expected 'exec-001'" % short(reply.get("task_id")))
    require_keys(result, EXEC_RESULT_KEYS, "result")
    require(result["status"] == "success",
            "result.status is %s, expected 'success' (result: %s)" % (short(result["status"]), short(result)))
    require(result["stdout"] == EXPECTED_STDOUT_1,
            "result.stdout is %s, expected %r" % (short(result["stdout"]), EXPECTED_STDOUT_1))
    require(isinstance(result["stderr"], str), "result.stderr is not a string: %s" % short(result["stderr"]))
    require(is_int(result["exit_code"]) and result["exit_code"] == 0,
            "result.exit_code is %s, expected 0" % short(result["exit_code"]))
    for key in ("execution_time_ms", "memory_used_mb"):
        require(is_number(result[key]) and result[key] >= 0,
                "result.%s is %s, expected a number >= 0" % (key, short(result[key])))
    for key in ("output_truncated", "cached"):
        require(isinstance(result[key], bool), "result.%s is %s, expected a bool" % (key, short(result[key])))
    if "error_message" in result:
        require(result["error_message"] is None or isinstance(result["error_message"], str),
                "result.error_message is %s, expected a string or null" % short(result["error_message"]))
    require("Execution Result:" in printed, "the example printed no 'Execution Result:'")


def check_example_2(url):
    loaded, printed = run_example("Example 2", EXAMPLE_2, url, "execute_javascript_example")
    the_result(the_reply(loaded))
    for text in ("Sum: 15", "Squared: [ 1, 4, 9, 16, 25 ]"):
        require(text in printed, "printed text lacks %r (printed: %s)" % (text, short(printed)))


def check_example_3(url):
    loaded, printed = run_example("Example 3", EXAMPLE_3, url, "validate_code_example")
    result = the_result(the_reply(loaded))
    require_keys(result, ["is_safe", "issues", "language"], "result")
    require(result["is_safe"] is False, "result.is_safe is %s, expected false" % short(result["is_safe"]))
    issues = result["issues"]
    require(isinstance(issues, list) and issues and all(isinstance(i, str) for i in issues),
            "result.issues is %s, expected a non-empty list of strings" % short(issues))
    require(result["language"] == "python", "result.language is %s, expected 'python'" % short(result["language"]))


def check_example_4(url):
    loaded, printed = run_example("Example 4", EXAMPLE_4, url, "execute_with_env_example")
    the_result(the_reply(loaded))
    for text in ("API Key: secret-key-123", "Database: postgresql://localhost:5432/mydb"):
        require(text in printed, "printed text lacks %r (printed: %s)" % (text, short(printed)))


def check_example_5(url):
    # Example 1 ran before this one, so there is history; it is written
    # asynchronously, hence the retries while the count is still 0.
    for attempt in range(11):
        loaded, printed = run_example("Example 5", EXAMPLE_5, url, "get_history_example")
        result = the_result(the_reply(loaded))
        require_keys(result, ["count", "executions"], "result")
        if result["count"] != 0 or attempt == 10:
            break
        time.sleep(0.3)
    count, executions = result["count"], result["executions"]
    require(is_int(count), "result.count is %s, expected an int" % short(count))
    require(isinstance(executions, list), "result.executions is %s, expected a list" % short(executions))
    require(count == len(executions),
            "result.count is %d but result.executions has %d entries" % (count, len(executions)))
    require(count >= 1, "result.count is 0 after 10 retries (Example 1's run is not in the history)")
    for entry in executions:
        require(isinstance(entry, dict), "an execution is not an object: %s" % short(entry))
        require_keys(entry, ["execution_id", "language", "status"], "execution %s" % short(entry))
        require(entry["language"] == "python" and entry["status"] == "success",
                "the filter (language python, status success) let through %s" % short(entry))


LANGUAGES = ["python", "javascript", "bash", "sql"]


def check_example_6(url):
    loaded, printed = run_example("Example 6", EXAMPLE_6, url, "list_languages_example")
    result = the_result(the_reply(loaded))
    require_keys(result, ["languages", "default_timeout", "max_timeout", "default_memory_mb", "max_memory_mb"],
                 "result")
    languages = result["languages"]
    require(isinstance(languages, dict), "result.languages is %s, expected an object" % short(languages))
    require_keys(languages, LANGUAGES, "result.languages")
    for lang in LANGUAGES:
        info = languages[lang]
        require(isinstance(info, dict), "result.languages.%s is %s, expected an object" % (lang, short(info)))
        require(isinstance(info.get("available"), bool),
                "result.languages.%s.available is %s, expected a bool" % (lang, short(info.get("available"))))
        require(isinstance(info.get("version"), str),
                "result.languages.%s.version is %s, expected a string" % (lang, short(info.get("version"))))
    for key in ("default_timeout", "max_timeout", "default_memory_mb", "max_memory_mb"):
        require(is_number(result[key]), "result.%s is %s, expected a number" % (key, short(result[key])))


def check_status(url):
    namespace, printed = run_snippet("Status Endpoint", STATUS_SNIPPET, url)
    status = namespace.get("status")
    require(isinstance(status, dict), "status is %s, expected a JSON object" % short(status))
    require_keys(status, ["agent_id", "state", "uptime_seconds", "connections", "metrics", "coding_metrics"],
                 "status")
    require(isinstance(status["agent_id"], str), "agent_id is %s, expected a string" % short(status["agent_id"]))
    require(isinstance(status["state"], str), "state is %s, expected a string" % short(status["state"]))
    require(is_number(status["uptime_seconds"]),
            "uptime_seconds is %s, expected a number" % short(status["uptime_seconds"]))
    connections = status["connections"]
    require(isinstance(connections, dict), "connections is %s, expected an object" % short(connections))
    for name in ("nats", "postgres", "redis"):
        conn = connections.get(name)
        require(isinstance(conn, dict) and isinstance(conn.get("state"), str),
                "connections.%s is %s, expected an object with a string state" % (name, short(conn)))
    require(connections["nats"]["state"] == "connected",
            "connections.nats.state is %s, expected 'connected'" % short(connections["nats"]["state"]))
    metrics = status["metrics"]
    require(isinstance(metrics, dict), "metrics is %s, expected an object" % short(metrics))
    for key in ("tasks_completed", "tasks_failed", "avg_processing_time_ms"):
        require(key in metrics and is_number(metrics[key]),
                "metrics.%s is %s, expected a number" % (key, short(metrics.get(key))))
    coding = status["coding_metrics"]
    require(isinstance(coding, dict), "coding_metrics is %s, expected an object" % short(coding))
    for key in ("total_executions", "successful_executions", "failed_executions", "timeout_executions",
                "security_violations", "cache_hits", "cache_misses"):
        require(key in coding and is_number(coding[key]),
                "coding_metrics.%s is %s, expected a number" % (key, short(coding.get(key))))
    require(isinstance(coding.get("language_breakdown"), dict),
            "coding_metrics.language_breakdown is %s, expected an object" % short(coding.get("language_breakdown")))


def check_health(url):
    namespace, printed = run_snippet("Health Check", HEALTH_SNIPPET, url)
    health = namespace.get("health")
    require(isinstance(health, dict), "health is %s, expected a JSON object" % short(health))
    require(health.get("status") in ("healthy", "degraded", "unhealthy"),
            "health.status is %s, expected healthy, degraded or unhealthy" % short(health.get("status")))


CHECKS = [
    ("example1_execute_python", check_example_1),
    ("example2_execute_javascript", check_example_2),
    ("example3_validate_code", check_example_3),
    ("example4_environment_variables", check_example_4),
    ("example5_execution_history", check_example_5),
    ("example6_list_languages", check_example_6),
    ("status_endpoint", check_status),
    ("health_check", check_health),
]


# ---------------------------------------------------------------------------


def describe(error):
    if isinstance(error, CheckFailed):
        return str(error)
    text = "%s: %s" % (type(error).__name__, error) if str(error) else type(error).__name__
    # Point at the line of the seed's example (or of this script) that raised.
    frames = traceback.extract_tb(error.__traceback__)
    for frame in reversed(frames):
        if frame.filename.startswith("<seed 000 "):
            return "%s (at %s line %d)" % (text, frame.filename.strip("<>"), frame.lineno)
    return text


def on_alarm(signum, frame):
    raise GuardTimeout("no answer within %d s (guard timeout)" % GUARD_SECONDS)


def check_seed(path):
    text = open(path, encoding="utf-8").read()
    print("seed sha256 %s" % hashlib.sha256(text.encode("utf-8")).hexdigest())
    ok = True
    for heading, embedded in SEED_BLOCKS.items():
        start = text.index(heading + "\n")
        body = text.index("```python\n", start) + len("```python\n")
        end = text.index("\n```", body - 1) + 1
        same = text[body:end] == embedded
        ok = ok and same
        print("%s %s" % ("same" if same else "DIFFERENT", heading))
    return 0 if ok else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="NATS URL, e.g. nats://127.0.0.1:4222")
    parser.add_argument("--json", action="store_true", help="print a JSON summary as the last line")
    parser.add_argument("--check-seed", metavar="PATH", help="compare the embedded examples with the seed file")
    args = parser.parse_args()
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")
    if args.check_seed:
        return check_seed(args.check_seed)
    if not args.url:
        parser.error("the NATS URL is required")

    signal.signal(signal.SIGALRM, on_alarm)
    summary = {}
    for name, check in CHECKS:
        error = None
        signal.alarm(GUARD_SECONDS)
        try:
            check(args.url)
        except (Exception, asyncio.CancelledError) as exc:
            error = describe(exc)
        finally:
            signal.alarm(0)
        summary[name] = {"ok": error is None, "error": error}
        print("ok %s" % name if error is None else "FAIL %s: %s" % (name, error), flush=True)

    if args.json:
        print(_real_json.dumps(summary), flush=True)
    return 0 if all(entry["ok"] for entry in summary.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
