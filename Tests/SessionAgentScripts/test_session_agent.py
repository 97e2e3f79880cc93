"""Tests for the Corral session agent and its context servers.

Runs the agent the way the host does (`python3 -I -c <source>`), outside any
jail, with its cwd in a temporary directory:

    python3 Tests/SessionAgentScripts/test_session_agent.py
"""

import base64
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RESOURCES = os.path.join(ROOT, "Sources", "CorralEngine", "Sessions", "Resources")
PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
HAVE_NODE = os.access("/usr/bin/node", os.X_OK) or shutil.which("node") is not None


def source(name):
    with open(os.path.join(RESOURCES, name), encoding="utf-8") as f:
        return f.read()


def frame(obj):
    body = json.dumps(obj).encode()
    return struct.pack(">I", len(body)) + body


def b64(data):
    return base64.b64encode(data).decode()


def unb64(text):
    return base64.b64decode(text)


def read_proc(pid, name):
    with open(f"/proc/{pid}/{name}") as f:
        return f.read()


def gone_or_zombie(pid):
    """True once pid no longer runs (a zombie left for init to reap counts as gone)."""
    try:
        return read_proc(pid, "stat").rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


class Agent:
    """A running agent; call() sends a request and waits for the reply with its id."""

    def __init__(self, cwd):
        self.proc = subprocess.Popen([PYTHON, "-I", "-c", source("session_agent.py")], cwd=cwd,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._next_id = 0
        self._replies = {}
        self.frames = []  # every frame read, in order, as (time.monotonic() on arrival, frame)
        self._cond = threading.Condition()
        self._write_lock = threading.Lock()
        self.eof = False
        self.stderr = b""
        threading.Thread(target=self._read, daemon=True).start()
        self._stderr_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._stderr_reader.start()

    def _read_stderr(self):
        self.stderr = self.proc.stderr.read()

    def _read(self):
        while True:
            header = self.proc.stdout.read(4)
            body = header and self.proc.stdout.read(struct.unpack(">I", header)[0])
            with self._cond:
                if not body:
                    self.eof = True
                    self._cond.notify_all()
                    return
                reply = json.loads(body)
                self.frames.append((time.monotonic(), reply))
                if "event" not in reply:  # an event frame (a streamed exec, attach) precedes its reply
                    self._replies[reply["id"]] = reply
                self._cond.notify_all()

    def send_raw(self, data):
        with self._write_lock:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()

    def send(self, op, **fields):
        with self._write_lock:
            self._next_id += 1
            rid = self._next_id
        self.send_raw(frame({"id": rid, "op": op, **fields}))
        return rid

    def reply(self, rid, timeout=30):
        with self._cond:
            if not self._cond.wait_for(lambda: rid in self._replies or self.eof, timeout):
                raise AssertionError(f"no reply to request {rid} within {timeout} s")
            if rid not in self._replies:
                raise AssertionError(f"agent closed stdout before replying to {rid}")
            return self._replies.pop(rid)

    def reply_with_null_id(self, timeout=10):
        return self.reply(None, timeout)

    def call(self, op, wait=30, **fields):
        """Sends a request and returns its reply, waiting at most `wait` seconds."""
        return self.reply(self.send(op, **fields), wait)

    def events(self, rid):
        """The event frames of request rid read so far, in order, as (arrival time, frame)."""
        with self._cond:
            return [(t, f) for t, f in self.frames if "event" in f and f.get("id") == rid]

    def wait_for_events(self, rid, predicate, timeout=10):
        """Waits until predicate(events(rid)) holds; returns those events."""
        deadline = time.monotonic() + timeout
        while True:
            events = self.events(rid)
            if predicate(events):
                return events
            if time.monotonic() > deadline:
                raise AssertionError(f"request {rid} never got the expected events: {events}")
            time.sleep(0.02)

    def reply_arrival(self, rid):
        """(arrival time, index among all frames read) of the reply to rid."""
        with self._cond:
            for index, (t, f) in enumerate(self.frames):
                if "event" not in f and f.get("id") == rid:
                    return t, index
        raise AssertionError(f"no reply to request {rid} was read")

    def hello(self):
        reply = self.call("hello", python_context_source=source("context_python.py"),
                          javascript_context_source=source("context_javascript.js"))
        assert reply["ok"], reply
        return reply

    def open_fds(self):
        return sorted(os.listdir(f"/proc/{self.proc.pid}/fd"), key=int)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._stderr_reader.join(5)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            stream.close()


class AgentTestCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="corral-agent-")
        self.agent = Agent(self.dir)
        self.agent.hello()
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.dir}

    def tearDown(self):
        if self.agent.proc.poll() is None:
            self.agent.call("shutdown")
        self.agent.proc.wait(10)
        self.agent.close()
        self.assertEqual(self.agent.stderr, b"", "the agent wrote to its stderr log")
        shutil.rmtree(self.dir, ignore_errors=True)

    def exec(self, argv, **fields):
        fields.setdefault("env", self.env)
        fields.setdefault("cwd", self.dir)
        return self.agent.call("exec", argv=argv, **fields)

    def ok(self, reply):
        self.assertTrue(reply["ok"], reply)
        return reply

    def error(self, reply, code):
        self.assertFalse(reply["ok"], reply)
        self.assertEqual(reply["code"], code, reply)
        self.assertTrue(reply["error"])
        return reply["error"]

    def poll_process(self, pid, predicate, timeout=10):
        """Polls the process op until predicate(reply) holds."""
        deadline = time.monotonic() + timeout
        while True:
            reply = self.ok(self.agent.call("process", pid=pid))
            if predicate(reply):
                return reply
            if time.monotonic() > deadline:
                self.fail(f"process {pid} never reached the expected state: {reply}")
            time.sleep(0.05)


class BasicsTest(AgentTestCase):
    def test_hello_and_ping(self):
        self.assertEqual(self.agent.hello()["pid"], self.agent.proc.pid)
        self.assertEqual(self.agent.call("ping"), {"id": self.agent._next_id, "ok": True})

    def test_unknown_op(self):
        self.assertIn("known ops", self.error(self.agent.call("frobnicate"), "invalid_request"))

    def test_missing_and_mistyped_fields(self):
        self.assertIn("'argv'", self.error(self.agent.call("exec"), "invalid_request"))
        self.assertIn("'argv'", self.error(self.agent.call("exec", argv="echo"), "invalid_request"))
        self.assertIn("'timeout'", self.error(self.exec(["true"], timeout="1"), "invalid_request"))
        self.assertIn("'stdin'", self.error(self.exec(["true"], stdin="not base64!"), "invalid_request"))
        self.assertIn("'pid'", self.error(self.agent.call("process", pid="1"), "invalid_request"))

    def test_request_without_integer_id(self):
        self.agent.send_raw(frame({"id": "x", "op": "ping"}))
        self.assertIn("'id'", self.error(self.agent.reply_with_null_id(), "invalid_request"))
        self.ok(self.agent.call("ping"))  # the agent carries on

    def test_concurrent_requests(self):
        slow = self.agent.send("exec", argv=["sleep", "2"], env=self.env, cwd=self.dir)
        time.sleep(0.1)
        started = time.monotonic()
        self.ok(self.agent.call("ping"))
        self.assertLess(time.monotonic() - started, 0.2)
        self.assertNotIn(slow, self.agent._replies)
        self.assertEqual(self.ok(self.agent.reply(slow))["exit_code"], 0)

    def test_shutdown_kills_everything(self):
        pid = self.ok(self.exec(["sleep", "30"], background=True))["pid"]
        self.ok(self.agent.call("shutdown"))
        self.assertEqual(self.agent.proc.wait(10), 0)
        deadline = time.monotonic() + 5
        while not gone_or_zombie(pid):
            self.assertLess(time.monotonic(), deadline, "background process survived shutdown")
            time.sleep(0.05)


class MalformedFrameTest(unittest.TestCase):
    def check(self, data):
        with tempfile.TemporaryDirectory() as cwd:
            agent = Agent(cwd)
            try:
                agent.send_raw(data)
                reply = agent.reply_with_null_id()
                self.assertFalse(reply["ok"])
                self.assertTrue(reply["error"])
                self.assertEqual(agent.proc.wait(10), 2)
            finally:
                agent.close()

    def test_bad_json(self):
        self.check(struct.pack(">I", 5) + b"{nope")

    def test_not_an_object(self):
        self.check(frame([1, 2]))

    def test_oversized_frame(self):
        self.check(struct.pack(">I", (64 << 20) + 1))


class ExecTest(AgentTestCase):
    def test_echo(self):
        reply = self.ok(self.exec(["echo", "hello"]))
        self.assertEqual(unb64(reply["stdout"]), b"hello\n")
        self.assertEqual(unb64(reply["stderr"]), b"")
        self.assertEqual((reply["exit_code"], reply["signal"]), (0, None))
        self.assertFalse(reply["timed_out"] or reply["output_limit"])
        self.assertGreater(reply["pid"], 0)
        self.assertGreater(reply["max_rss_kb"], 0)
        self.assertGreaterEqual(reply["cpu_ms"], 0)
        self.assertGreater(reply["wall_ms"], 0)

    def test_wall_time_covers_cpu_time(self):
        # Wall time counts from before the fork, so the child's CPU time (which includes the time
        # between fork and exec) fits in it. A large argv makes that part long enough to show:
        # execve copies the arguments before the agent learns the exec succeeded.
        size = 100000
        count = max(0, min(15, int(os.sysconf("SC_ARG_MAX") * 0.75) // (size + 1)))
        for argv in [["true"]] * 10 + [["true"] + ["x" * size] * count] * 20:
            reply = self.ok(self.exec(argv))
            self.assertEqual(reply["exit_code"], 0, reply)
            self.assertLessEqual(reply["cpu_ms"], reply["wall_ms"] + 1,
                                 f"cpu_ms {reply['cpu_ms']} > wall_ms {reply['wall_ms']} for {len(argv)} args")

    def test_env_cwd_and_exit_code(self):
        sub = os.path.join(self.dir, "sub")
        os.mkdir(sub)
        reply = self.ok(self.exec(["sh", "-c", 'echo "$GREETING"; pwd; echo oops >&2; exit 3'],
                                  env={**self.env, "GREETING": "hi there"}, cwd=sub))
        self.assertEqual(unb64(reply["stdout"]).decode().split("\n")[:2], ["hi there", sub])
        self.assertEqual(unb64(reply["stderr"]), b"oops\n")
        self.assertEqual(reply["exit_code"], 3)

    def test_env_is_the_whole_environment(self):
        reply = self.ok(self.exec(["/usr/bin/env"], env={"ONLY": "1"}))
        self.assertEqual(unb64(reply["stdout"]), b"ONLY=1\n")

    def test_missing_cwd(self):
        missing = os.path.join(self.dir, "nope")
        self.assertIn(missing, self.error(self.exec(["true"], cwd=missing), "not_found"))

    def test_command_not_found(self):
        reply = self.ok(self.exec(["no-such-command-xyz", "a"]))
        self.assertEqual(reply["exit_code"], 127)
        self.assertEqual(unb64(reply["stderr"]), b"no-such-command-xyz: command not found\n")
        reply = self.ok(self.exec(["./nope.sh"]))
        self.assertEqual(reply["exit_code"], 127)

    def test_program_from_the_child_path(self):
        bin_dir = os.path.join(self.dir, "bin")
        os.mkdir(bin_dir)
        tool = os.path.join(bin_dir, "mytool")
        with open(tool, "w") as f:
            f.write("#!/bin/sh\necho mytool ran\n")
        os.chmod(tool, 0o755)
        reply = self.ok(self.exec(["mytool"], env={**self.env, "PATH": bin_dir + ":" + self.env["PATH"]}))
        self.assertEqual(unb64(reply["stdout"]), b"mytool ran\n")

    def test_stdin(self):
        reply = self.ok(self.exec(["cat"], stdin=b64(b"line 1\nline 2\n")))
        self.assertEqual(unb64(reply["stdout"]), b"line 1\nline 2\n")
        # Without stdin the child sees EOF at once.
        self.assertEqual(self.ok(self.exec(["cat"], timeout=5))["exit_code"], 0)

    def test_stdin_the_child_does_not_read(self):
        reply = self.ok(self.exec(["head", "-c", "10"], stdin=b64(b"x" * (4 << 20)), timeout=10))
        self.assertEqual(unb64(reply["stdout"]), b"x" * 10)
        self.assertFalse(reply["timed_out"])

    def test_timeout(self):
        started = time.monotonic()
        reply = self.ok(self.exec(["sleep", "30"], timeout=0.5))
        self.assertTrue(reply["timed_out"])
        self.assertEqual((reply["exit_code"], reply["signal"]), (None, 9))
        self.assertLess(time.monotonic() - started, 5)

    def test_timeout_kills_grandchildren(self):
        reply = self.ok(self.exec(["bash", "-c", "sleep 30 & echo $!; wait"], timeout=0.5))
        self.assertTrue(reply["timed_out"])
        grandchild = int(unb64(reply["stdout"]))
        deadline = time.monotonic() + 5
        while not gone_or_zombie(grandchild):
            self.assertLess(time.monotonic(), deadline, "the grandchild survived the timeout")
            time.sleep(0.05)

    def test_grandchild_holding_the_pipes_does_not_block(self):
        started = time.monotonic()
        reply = self.ok(self.exec(["sh", "-c", "sleep 30 & echo started"], timeout=20))
        self.assertLess(time.monotonic() - started, 5)
        self.assertEqual(unb64(reply["stdout"]), b"started\n")
        self.assertFalse(reply["timed_out"])
        # The sleep is still in the group of the exited child; signal reaches it.
        self.ok(self.agent.call("signal", pid=reply["pid"], signal=9))

    def test_output_limit(self):
        reply = self.ok(self.exec(["yes"], max_output=1000, timeout=20))
        self.assertTrue(reply["output_limit"])
        self.assertFalse(reply["timed_out"])
        self.assertEqual(len(unb64(reply["stdout"])) + len(unb64(reply["stderr"])), 1000)
        self.assertEqual(reply["signal"], 9)

    def test_output_limit_counts_both_streams(self):
        script = "import sys\nsys.stdout.write('o' * 600); sys.stdout.flush()\nsys.stderr.write('e' * 600)"
        reply = self.ok(self.exec([PYTHON, "-c", script], max_output=1000))
        self.assertTrue(reply["output_limit"])
        self.assertEqual(len(unb64(reply["stdout"])) + len(unb64(reply["stderr"])), 1000)

    def test_output_exactly_at_the_limit(self):
        reply = self.ok(self.exec(["head", "-c", "1000", "/dev/zero"], max_output=1000))
        self.assertFalse(reply["output_limit"])
        self.assertEqual(reply["exit_code"], 0)

    def test_children_inherit_only_their_own_stdio(self):
        for pty, expected in ((None, "pipe:"), ({}, "/dev/pts/")):
            pid = self.ok(self.exec(["sleep", "30"], background=True, pty=pty))["pid"]
            deadline = time.monotonic() + 5
            while read_proc(pid, "comm").strip() != "sleep":  # a pty child execs via a helper
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.02)
            fds = {fd: os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
            self.assertEqual(sorted(fds), ["0", "1", "2"])
            self.assertTrue(all(target.startswith(expected) for target in fds.values()), fds)
            _, _, pgrp, session, tty, tpgid = read_proc(pid, "stat").rsplit(")", 1)[1].split()[:6]
            self.assertEqual((pgrp, session), (str(pid), str(pid)))  # own session and group
            if pty is not None:  # the pty is the controlling terminal, the child its foreground
                self.assertNotEqual(tty, "0")
                self.assertEqual(tpgid, str(pid))
            self.ok(self.agent.call("signal", pid=pid, signal=9))

    def test_no_fd_leaks(self):
        before = self.agent.open_fds()
        for _ in range(3):
            self.ok(self.exec(["echo", "x"]))
            self.ok(self.exec(["tty"], pty={}))
            self.ok(self.exec(["sleep", "30"], timeout=0.1))
            pid = self.ok(self.exec(["cat"], background=True))["pid"]
            self.ok(self.agent.call("stdin", pid=pid, data=b64(b"x"), eof=True))
            self.ok(self.agent.call("wait", pid=pid, timeout=10))
            context = self.ok(self.agent.call("context_create", language="python"))["context_id"]
            self.ok(self.agent.call("run_code", context_id=context, code="import os\nos._exit(3)"))
            self.ok(self.agent.call("context_delete", context_id=context))
        time.sleep(0.3)  # log drain threads close their pipes at EOF
        self.assertEqual(self.agent.open_fds(), before)

    def test_exited_processes_are_listed_up_to_64(self):
        for _ in range(70):
            self.ok(self.exec(["true"]))
        processes = self.ok(self.agent.call("processes"))["processes"]
        self.assertEqual(len(processes), 64)
        self.assertTrue(all(p["status"] == "exited" and p["exit_code"] == 0 for p in processes))


class BackgroundTest(AgentTestCase):
    def test_long_runner(self):
        script = "import time\nprint('ready', flush=True)\nwhile True: time.sleep(0.1)"
        pid = self.ok(self.exec([PYTHON, "-c", script], background=True))["pid"]
        listed = {p["pid"]: p for p in self.ok(self.agent.call("processes"))["processes"]}
        self.assertEqual(listed[pid]["status"], "running")
        self.assertTrue(listed[pid]["background"])
        self.assertFalse(listed[pid]["pty"])
        self.assertEqual(listed[pid]["argv"][0], PYTHON)
        self.assertEqual(listed[pid]["cwd"], self.dir)
        self.assertIsNone(listed[pid]["ended_at"])
        self.poll_process(pid, lambda r: unb64(r["stdout"]) == b"ready\n")
        self.ok(self.agent.call("signal", pid=pid, signal=15))
        reply = self.ok(self.agent.call("wait", pid=pid, timeout=10))
        self.assertEqual((reply["status"], reply["exit_code"], reply["signal"]), ("exited", None, 15))
        self.assertGreaterEqual(reply["ended_at"], reply["started_at"])

    def test_wait_times_out_on_a_running_process(self):
        pid = self.ok(self.exec(["sleep", "30"], background=True))["pid"]
        started = time.monotonic()
        self.assertEqual(self.ok(self.agent.call("wait", pid=pid, timeout=0.3))["status"], "running")
        self.assertGreaterEqual(time.monotonic() - started, 0.25)
        self.ok(self.agent.call("signal", pid=pid, signal=9))

    def test_stdin_to_cat(self):
        pid = self.ok(self.exec(["cat"], background=True, stdin=b64(b"first\n")))["pid"]
        self.ok(self.agent.call("stdin", pid=pid, data=b64(b"second\n")))
        self.poll_process(pid, lambda r: unb64(r["stdout"]) == b"first\nsecond\n")
        self.ok(self.agent.call("stdin", pid=pid, data="", eof=True))
        reply = self.ok(self.agent.call("wait", pid=pid, timeout=10))
        self.assertEqual(reply["exit_code"], 0)
        self.assertIn("exited", self.error(self.agent.call("stdin", pid=pid, data=b64(b"x")), "failed"))

    def test_stdin_after_eof(self):
        pid = self.ok(self.exec(["sh", "-c", "exec 0<&-; sleep 30"], background=True))["pid"]
        self.ok(self.agent.call("stdin", pid=pid, data="", eof=True))
        self.assertIn("closed", self.error(self.agent.call("stdin", pid=pid, data=b64(b"x")), "failed"))
        self.ok(self.agent.call("signal", pid=pid, signal=9))

    def test_background_timeout(self):
        pid = self.ok(self.exec(["sleep", "30"], background=True, timeout=0.5))["pid"]
        reply = self.ok(self.agent.call("wait", pid=pid, timeout=10))
        self.assertTrue(reply["timed_out"])
        self.assertEqual(reply["signal"], 9)

    def test_background_output_is_bounded(self):
        pid = self.ok(self.exec(["head", "-c", "100000", "/dev/zero"], background=True, max_output=1000))["pid"]
        reply = self.ok(self.agent.call("wait", pid=pid, timeout=10))
        self.assertTrue(reply["truncated"])
        self.assertEqual(len(unb64(reply["stdout"])), 1000)
        self.assertEqual(reply["exit_code"], 0)  # drained, not killed

    def test_unknown_pid(self):
        self.error(self.agent.call("process", pid=999999), "not_found")
        self.error(self.agent.call("signal", pid=os.getpid(), signal=9), "not_found")
        self.error(self.agent.call("signal", pid=self.agent.proc.pid, signal=9), "not_found")
        self.error(self.agent.call("stdin", pid=999999, data=""), "not_found")

    def test_signal_after_exit(self):
        pid = self.ok(self.exec(["true"]))["pid"]
        self.error(self.agent.call("signal", pid=pid, signal=15), "failed")


def event_data(events, stream=None):
    """The decoded data of output events (of one stream, or all), concatenated."""
    return b"".join(unb64(f["data"]) for _, f in events if stream is None or f["stream"] == stream)


def event_runs(events):
    """Output events as [(stream, data)], consecutive events of the same stream joined."""
    runs = []
    for _, f in events:
        if runs and runs[-1][0] == f["stream"]:
            runs[-1] = (f["stream"], runs[-1][1] + unb64(f["data"]))
        else:
            runs.append((f["stream"], unb64(f["data"])))
    return runs


class StreamingTestCase(AgentTestCase):
    def check_events(self, rid):
        """Checks that rid's events are well-formed output events, all read before its reply."""
        events = self.agent.events(rid)
        _, reply_index = self.agent.reply_arrival(rid)
        for _, f in events:
            self.assertEqual(set(f), {"id", "event", "stream", "data"}, f)
            self.assertEqual((f["id"], f["event"]), (rid, "output"), f)
            self.assertIn(f["stream"], ("stdout", "stderr"), f)
            self.assertTrue(unb64(f["data"]), f"an output event without data: {f}")
        indexes = [i for i, (_, f) in enumerate(self.agent.frames) if "event" in f and f["id"] == rid]
        self.assertTrue(all(i < reply_index for i in indexes), "an output event came after the reply")
        return events


class StreamExecTest(StreamingTestCase):
    def stream_exec(self, argv, **fields):
        """A streamed foreground exec: (reply, its events)."""
        fields.setdefault("env", self.env)
        fields.setdefault("cwd", self.dir)
        rid = self.agent.send("exec", argv=argv, stream=True, **fields)
        reply = self.ok(self.agent.reply(rid))
        return rid, reply, self.check_events(rid)

    def test_output_comes_as_it_is_written(self):
        rid, reply, events = self.stream_exec(["sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.2; done"])
        self.assertEqual(reply["exit_code"], 0)
        self.assertGreaterEqual(len(events), 3, events)
        self.assertEqual(event_data(events), unb64(reply["stdout"]))
        self.assertEqual(unb64(reply["stdout"]), b"1\n2\n3\n")
        self.assertTrue(all(f["stream"] == "stdout" for _, f in events))
        replied_at, _ = self.agent.reply_arrival(rid)
        self.assertGreaterEqual(replied_at - events[0][0], 0.3, "the first output event came with the reply")

    def test_stderr_events_are_labelled_stderr(self):
        rid, reply, events = self.stream_exec(
            ["sh", "-c", "echo out; sleep 0.1; echo err >&2; sleep 0.1; echo out2; echo err2 >&2; exit 4"])
        self.assertEqual(reply["exit_code"], 4)
        self.assertEqual(event_data(events, "stdout"), unb64(reply["stdout"]))
        self.assertEqual(event_data(events, "stderr"), unb64(reply["stderr"]))
        self.assertEqual((unb64(reply["stdout"]), unb64(reply["stderr"])), (b"out\nout2\n", b"err\nerr2\n"))
        self.assertEqual(event_runs(events)[:2], [("stdout", b"out\n"), ("stderr", b"err\n")])

    def test_only_kept_output_is_streamed(self):
        rid, reply, events = self.stream_exec(["head", "-c", "100000", "/dev/zero"], max_output=1000, timeout=20)
        self.assertTrue(reply["output_limit"])
        self.assertEqual(len(unb64(reply["stdout"])), 1000)
        self.assertEqual(event_data(events), unb64(reply["stdout"]))

    def test_no_events_without_stream(self):
        quiet = [self.agent.send("exec", argv=["sh", "-c", "echo a; echo b >&2"], env=self.env, cwd=self.dir,
                                 **fields) for fields in ({}, {"stream": False})]
        for rid in quiet:
            reply = self.ok(self.agent.reply(rid))
            self.assertEqual((unb64(reply["stdout"]), unb64(reply["stderr"])), (b"a\n", b"b\n"))
        # A background exec ignores stream: its output is there for process, wait and attach.
        background = self.agent.send("exec", argv=["sh", "-c", "echo a; echo b >&2"], env=self.env,
                                     cwd=self.dir, background=True, stream=True)
        pid = self.ok(self.agent.reply(background))["pid"]
        self.assertEqual(unb64(self.ok(self.agent.call("wait", pid=pid, timeout=10))["stdout"]), b"a\n")
        self.ok(self.agent.call("ping"))  # anything the agent had written by now has been read
        self.assertEqual([f for _, f in self.agent.frames if "event" in f], [])

    def test_bad_stream_field(self):
        self.assertIn("'stream'", self.error(self.exec(["true"], stream="yes"), "invalid_request"))


class AttachTest(StreamingTestCase):
    def start(self, script):
        return self.ok(self.exec(["sh", "-c", script], background=True))["pid"]

    def test_output_so_far_then_later_output_then_the_exit(self):
        pid = self.start("echo before; echo early >&2; read line; echo after; echo late >&2; exit 5")
        self.poll_process(pid, lambda r: unb64(r["stdout"]) == b"before\n" and unb64(r["stderr"]) == b"early\n")
        rid = self.agent.send("attach", pid=pid)
        # What the process wrote before the attach comes at once, stdout then stderr.
        events = self.agent.wait_for_events(rid, lambda e: len(event_data(e)) >= len(b"before\nearly\n"))
        self.assertEqual(event_runs(events), [("stdout", b"before\n"), ("stderr", b"early\n")])
        time.sleep(0.2)
        self.assertNotIn(rid, self.agent._replies, "attach replied while the process still runs")
        self.assertEqual(len(self.agent.events(rid)), len(events), "events without new output")
        self.ok(self.agent.call("stdin", pid=pid, data=b64(b"go\n")))
        reply = self.ok(self.agent.reply(rid))
        events = self.check_events(rid)
        self.assertEqual(event_runs(events)[:2], [("stdout", b"before\n"), ("stderr", b"early\n")])
        self.assertEqual(event_data(events, "stdout"), b"before\nafter\n")
        self.assertEqual(event_data(events, "stderr"), b"early\nlate\n")
        self.assertEqual((reply["pid"], reply["status"], reply["exit_code"], reply["signal"]),
                         (pid, "exited", 5, None))
        self.assertTrue(reply["background"])

    def test_attach_reports_a_signal(self):
        pid = self.start("echo up; sleep 30")
        self.poll_process(pid, lambda r: unb64(r["stdout"]) == b"up\n")
        rid = self.agent.send("attach", pid=pid)
        self.agent.wait_for_events(rid, lambda e: event_data(e) == b"up\n")
        self.ok(self.agent.call("signal", pid=pid, signal=15))
        reply = self.ok(self.agent.reply(rid, 10))
        self.assertEqual((reply["status"], reply["exit_code"], reply["signal"]), ("exited", None, 15))
        self.assertEqual(event_data(self.check_events(rid)), b"up\n")

    def test_attach_to_an_exited_process(self):
        pid = self.start("echo done; echo oops >&2; exit 2")
        self.ok(self.agent.call("wait", pid=pid, timeout=10))
        rid = self.agent.send("attach", pid=pid)
        reply = self.ok(self.agent.reply(rid, 5))
        self.assertEqual((reply["status"], reply["exit_code"]), ("exited", 2))
        self.assertEqual(event_runs(self.check_events(rid)), [("stdout", b"done\n"), ("stderr", b"oops\n")])

    def test_unknown_pid(self):
        self.error(self.agent.call("attach", pid=999999), "not_found")
        self.error(self.agent.call("attach", pid=self.agent.proc.pid), "not_found")
        self.assertIn("'pid'", self.error(self.agent.call("attach"), "invalid_request"))
        self.assertEqual([f for _, f in self.agent.frames if "event" in f], [])

    def test_detach_ends_the_attach_at_once(self):
        pid = self.start("echo start; read a; echo done")
        self.poll_process(pid, lambda r: unb64(r["stdout"]) == b"start\n")
        attach = self.agent.send("attach", pid=pid)
        self.agent.wait_for_events(attach, lambda e: event_data(e) == b"start\n")
        self.ok(self.agent.call("detach", pid=pid))
        reply = self.ok(self.agent.reply(attach, 2))
        self.assertEqual((reply["status"], reply["detached"]), ("running", True))
        self.ok(self.agent.call("stdin", pid=pid, data=b64(b"a\n")))
        self.assertEqual(unb64(self.ok(self.agent.call("wait", pid=pid, timeout=10))["stdout"]), b"start\ndone\n")

    def test_attach_refuses_a_foreground_command(self):
        rid = self.agent.send("exec", argv=["sh", "-c", "sleep 1"], env={"PATH": "/usr/bin:/bin"}, cwd="/", timeout=10)
        time.sleep(0.3)
        pids = [p["pid"] for p in self.ok(self.agent.call("processes"))["processes"] if not p["background"]]
        self.assertTrue(pids)
        refused = self.agent.call("attach", pid=pids[0])
        self.assertEqual((refused["ok"], refused["code"]), (False, "invalid_request"))
        self.ok(self.agent.reply(rid, 10))

    def test_a_second_attach_takes_over(self):
        pid = self.start("echo start; read a; echo one; read b; echo two")
        self.poll_process(pid, lambda r: unb64(r["stdout"]) == b"start\n")
        first = self.agent.send("attach", pid=pid)
        self.agent.wait_for_events(first, lambda e: event_data(e) == b"start\n")
        self.ok(self.agent.call("stdin", pid=pid, data=b64(b"a\n")))
        self.agent.wait_for_events(first, lambda e: event_data(e) == b"start\none\n")
        second = self.agent.send("attach", pid=pid)
        self.agent.wait_for_events(second, lambda e: event_data(e) == b"start\none\n")
        # The first attach replies at once, detached, with the process still running.
        taken = self.ok(self.agent.reply(first, 10))
        self.assertEqual((taken["pid"], taken["status"], taken["detached"]), (pid, "running", True))
        first_events = self.agent.events(first)
        self.ok(self.agent.call("stdin", pid=pid, data=b64(b"b\n")))
        # The second gets its reply at the exit, and the output that came after it.
        reply = self.ok(self.agent.reply(second, 10))
        self.assertEqual((reply["pid"], reply["status"], reply["exit_code"], reply["detached"]), (pid, "exited", 0, False))
        self.assertEqual(self.check_events(first), first_events)
        self.assertEqual(event_data(first_events), b"start\none\n")
        self.assertEqual(event_data(self.check_events(second)), b"start\none\ntwo\n")


class PtyTest(AgentTestCase):
    def test_tty(self):
        reply = self.ok(self.exec(["tty"], pty={"cols": 80, "rows": 24}))
        self.assertRegex(unb64(reply["stdout"]).decode(), r"^/dev/pts/\d+\r\n$")
        self.assertEqual(reply["exit_code"], 0)

    def test_size_and_controlling_terminal(self):
        reply = self.ok(self.exec(["sh", "-c", "stty size; echo ok > /dev/tty"], pty={"cols": 100, "rows": 30}))
        self.assertEqual(unb64(reply["stdout"]), b"30 100\r\nok\r\n")

    def test_resize(self):
        pid = self.ok(self.exec(["sh", "-c", "read line; stty size"], background=True,
                                pty={"cols": 80, "rows": 24}))["pid"]
        self.ok(self.agent.call("resize", pid=pid, cols=120, rows=40))
        self.ok(self.agent.call("stdin", pid=pid, data=b64(b"go\n")))
        reply = self.ok(self.agent.call("wait", pid=pid, timeout=10))
        self.assertIn(b"40 120", unb64(reply["stdout"]))
        self.assertTrue(reply["pty"])

    def test_eof_on_a_pty(self):
        pid = self.ok(self.exec(["cat"], background=True, pty={}))["pid"]
        self.ok(self.agent.call("stdin", pid=pid, data=b64(b"abc\n"), eof=True))
        reply = self.ok(self.agent.call("wait", pid=pid, timeout=10))
        self.assertEqual(reply["exit_code"], 0)
        self.assertIn(b"abc", unb64(reply["stdout"]))

    def test_resize_without_pty(self):
        pid = self.ok(self.exec(["sleep", "30"], background=True))["pid"]
        self.error(self.agent.call("resize", pid=pid, cols=10, rows=10), "invalid_request")
        self.ok(self.agent.call("signal", pid=pid, signal=9))


class PythonContextTest(AgentTestCase):
    def setUp(self):
        super().setUp()
        self.context = self.ok(self.agent.call("context_create", language="python", cwd=self.dir,
                                               env=self.env))["context_id"]

    def run_code(self, code, timeout=20):
        return self.ok(self.agent.call("run_code", context_id=self.context, code=code, timeout=timeout))

    def test_state_and_result(self):
        self.assertIsNone(self.run_code("x = 41")["result"])
        reply = self.run_code("x + 1")
        self.assertEqual(reply["result"], {"text": "42", "json": 42})
        self.assertIsNone(reply["error"])
        self.assertGreater(reply["wall_ms"], 0)
        self.assertEqual(self.run_code("{'a': [1, 2]}")["result"]["json"], {"a": [1, 2]})
        self.assertEqual(self.run_code("object")["result"], {"text": "<class 'object'>", "json": None})
        self.assertIsNone(self.run_code("None")["result"])

    def test_output(self):
        reply = self.run_code("import sys\nprint('hello')\nprint('warn', file=sys.stderr)")
        self.assertEqual((reply["stdout"], reply["stderr"]), ("hello\n", "warn\n"))
        self.assertEqual(self.run_code("print('again')")["stdout"], "again\n")

    def test_cwd_and_main_module(self):
        reply = self.run_code("import os, __main__\nx = 5\n(os.getcwd(), __main__.x, __name__)")
        self.assertEqual(reply["result"]["json"], [os.path.realpath(self.dir), 5, "__main__"])

    def test_exception(self):
        error = self.run_code("def f():\n    return 1 / 0\nf()")["error"]
        self.assertEqual((error["name"], error["value"]), ("ZeroDivisionError", "division by zero"))
        self.assertIn('File "<cell>", line 3', error["traceback"])
        self.assertIn("in f", error["traceback"])
        self.assertNotIn("run_cell", error["traceback"])

    def test_syntax_error(self):
        error = self.run_code("x = (")["error"]
        self.assertEqual(error["name"], "SyntaxError")
        self.assertIn("<cell>", error["traceback"])

    def test_system_exit(self):
        self.run_code("kept = 1")
        self.assertEqual(self.run_code("raise SystemExit(3)")["error"]["name"], "SystemExit")
        self.assertEqual(self.run_code("kept")["result"]["json"], 1)

    def test_top_level_await(self):
        self.assertEqual(self.run_code("import asyncio\nawait asyncio.sleep(0)\n7")["result"]["json"], 7)

    def test_timeout_restarts(self):
        self.run_code("state = 1")
        pid = {c["context_id"]: c["pid"] for c in self.ok(self.agent.call("contexts"))["contexts"]}[self.context]
        reply = self.run_code("import time\ntime.sleep(30)", timeout=1)
        self.assertEqual(reply["error"]["name"], "TimeoutError")
        self.assertIn("restarted", reply["error"]["value"])
        self.assertLess(reply["wall_ms"], 10000)
        self.assertEqual(self.run_code("state")["error"]["name"], "NameError")
        self.assertEqual(self.run_code("1 + 1")["result"]["json"], 2)
        self.assertTrue(gone_or_zombie(pid))

    def test_server_death_restarts(self):
        reply = self.run_code("import os\nos._exit(1)")
        self.assertEqual(reply["error"]["name"], "ContextDied")
        self.assertIn("status 1", reply["error"]["value"])
        self.assertEqual(self.run_code("2 + 2")["result"]["json"], 4)

    def test_one_run_at_a_time(self):
        first = self.agent.send("run_code", context_id=self.context, code="import time\ntime.sleep(0.5)\n'a'")
        second = self.agent.send("run_code", context_id=self.context, code="'b'")
        self.assertEqual(self.ok(self.agent.reply(second))["result"]["json"], "b")
        self.assertIn(first, self.agent._replies)  # answered before the second one started

    def test_contexts_and_delete(self):
        listed = self.ok(self.agent.call("contexts"))["contexts"]
        self.assertEqual([(c["context_id"], c["language"]) for c in listed], [(self.context, "python")])
        self.assertGreater(listed[0]["pid"], 0)
        self.ok(self.agent.call("context_delete", context_id=self.context))
        self.error(self.agent.call("run_code", context_id=self.context, code="1"), "not_found")
        self.error(self.agent.call("context_delete", context_id=self.context), "not_found")
        self.assertEqual(self.ok(self.agent.call("contexts"))["contexts"], [])
        self.assertTrue(gone_or_zombie(listed[0]["pid"]))

    def test_delete_during_a_run(self):
        pending = self.agent.send("run_code", context_id=self.context, code="import time\ntime.sleep(30)")
        time.sleep(0.3)
        self.ok(self.agent.call("context_delete", context_id=self.context, wait=5))
        self.assertEqual(self.ok(self.agent.reply(pending, 5))["error"]["name"], "ContextDied")

    def test_unknown_language(self):
        error = self.error(self.agent.call("context_create", language="ruby"), "invalid_request")
        self.assertIn("javascript", error)


@unittest.skipUnless(HAVE_NODE, "node is not installed")
class JavaScriptContextTest(AgentTestCase):
    def setUp(self):
        super().setUp()
        self.context = self.ok(self.agent.call("context_create", language="javascript", cwd=self.dir,
                                               env=self.env))["context_id"]

    def run_code(self, code, timeout=20):
        return self.ok(self.agent.call("run_code", context_id=self.context, code=code, timeout=timeout))

    def test_state_and_result(self):
        self.assertIsNone(self.run_code("let y = 41")["result"])
        self.assertEqual(self.run_code("y + 1")["result"], {"text": "42", "json": 42})
        self.run_code("const c = 2; function f() { return c * 3; } class K { v() { return f(); } }")
        self.assertEqual(self.run_code("new K().v()")["result"]["json"], 6)
        self.assertEqual(self.run_code("({a: [1, 'x']})")["result"]["json"], {"a": [1, "x"]})
        self.assertEqual(self.run_code("10n")["result"], {"text": "10n", "json": None})

    def test_console(self):
        reply = self.run_code("console.log('a', 1, {b: 2}); console.error('bad'); process.stdout.write('raw\\n')")
        self.assertEqual(reply["stdout"], "a 1 { b: 2 }\nraw\n")
        self.assertEqual(reply["stderr"], "bad\n")

    def test_thrown_error(self):
        error = self.run_code("function boom() { throw new TypeError('boom'); }\nboom()")["error"]
        self.assertEqual((error["name"], error["value"]), ("TypeError", "boom"))
        self.assertIn("<cell>:1", error["traceback"])
        self.assertNotIn("runCell", error["traceback"])

    def test_promises_and_await(self):
        self.assertEqual(self.run_code("Promise.resolve(7)")["result"]["json"], 7)
        self.assertEqual(self.run_code("const v = await Promise.resolve(5);\nv * 2")["result"]["json"], 10)
        self.assertEqual(self.run_code("await Promise.reject(new Error('no'))")["error"]["value"], "no")

    def test_globals(self):
        reply = self.run_code("[typeof require('fs').readFileSync, typeof Buffer, typeof URL, typeof setTimeout,"
                              " process.cwd(), typeof TextEncoder]")
        self.assertEqual(reply["result"]["json"],
                         ["function", "function", "function", "function", os.path.realpath(self.dir), "function"])

    def test_timer_output_lands_in_the_next_run(self):
        self.run_code("setTimeout(() => console.log('later'), 0)")
        time.sleep(0.2)
        self.assertEqual(self.run_code("1")["stdout"], "later\n")

    def test_timeout_restarts(self):
        self.run_code("globalThis.state = 1")
        reply = self.run_code("while (true) {}", timeout=1)
        self.assertEqual(reply["error"]["name"], "TimeoutError")
        self.assertEqual(self.run_code("typeof state")["result"]["json"], "undefined")

    def test_syntax_error(self):
        error = self.run_code("let = = 1")["error"]
        self.assertEqual(error["name"], "SyntaxError")


if __name__ == "__main__":
    unittest.main(verbosity=2)
