"""Corral session agent.

The only long-lived process inside a session's jail. The host writes requests
to the agent's stdin and reads replies from its stdout. Both directions carry
frames: a 4-byte big-endian length, then that many bytes of UTF-8 JSON holding
one object. Each request runs on its own thread, so replies can come back out
of order; every reply carries the id of its request.

The host runs it as `python3 -I -c <this source>`: Python 3.11 standard library
only, and no `__file__`.
"""

import base64
import binascii
import collections
import fcntl
import json
import math
import os
import secrets
import select
import selectors
import shutil
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
import traceback

MAX_REQUEST = 64 << 20          # largest request frame the host may send
MAX_CONTEXT_FRAME = 256 << 20   # largest reply frame a context server may send
MAX_IN_FLIGHT = 256             # requests handled at once
MAX_CONTEXTS = 32
KEEP_EXITED = 64                # exited processes that `processes` still lists
DEFAULT_MAX_OUTPUT = 1 << 20
DRAIN_AFTER_EXIT = 0.1          # seconds to keep reading pipes a grandchild holds open
EXIT_POLL = 0.05                # exit polling interval when pidfd_open is unavailable
CONTEXT_START_TIMEOUT = 30.0
CONTEXT_LOG_TAIL = 8192         # bytes of a context server's own stderr kept for errors
READ_CHUNK = 65536
CTRL_D = b"\x04"                # end of input on a terminal in canonical mode

# Runs in the child of a pty exec: makes the terminal on fd 0 the controlling
# terminal of the new session, then execs the program. Doing this in the child
# avoids preexec_fn, which is unsafe in a threaded parent. Arguments: path,
# argc, argv..., then the environment as KEY=VALUE strings (passed this way
# because Python's startup may add LC_CTYPE to its own environment).
PTY_EXEC = """
import fcntl, os, signal, sys, termios
try:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
except OSError:
    pass  # the terminal still works as fds 0-2, just without job control
for name in ("SIGPIPE", "SIGXFSZ"):  # Python ignores these; programs expect the default
    signal.signal(getattr(signal, name), signal.SIG_DFL)
argc = int(sys.argv[2])
argv = sys.argv[3:3 + argc]
env = dict(item.split("=", 1) for item in sys.argv[3 + argc:])
try:
    os.execve(sys.argv[1], argv, env)
except OSError as exc:
    os.write(2, f"{argv[0]}: {exc.strerror}\\n".encode())
    os._exit(126)
"""


# -- errors -----------------------------------------------------------------

class RequestError(Exception):
    """A request that cannot be served; `code` goes into the reply."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def invalid(message):
    return RequestError("invalid_request", message)


def not_found(message):
    return RequestError("not_found", message)


def failed(message):
    return RequestError("failed", message)


class FrameError(Exception):
    """The host sent something that is not a frame; the session is broken."""


# -- frames -----------------------------------------------------------------

def encode_frame(obj):
    body = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    data = body.encode("utf-8", "replace")  # lone surrogates become "?"
    return struct.pack(">I", len(data)) + data


def read_exact(fd, size):
    """Reads exactly size bytes from a blocking fd; None on EOF before the first byte."""
    buf = bytearray()
    while len(buf) < size:
        chunk = os.read(fd, min(size - len(buf), 1 << 20))
        if not chunk:
            if buf:
                raise FrameError(f"stdin ended in the middle of a frame ({len(buf)} of {size} bytes)")
            return None
        buf += chunk
    return bytes(buf)


def read_request(fd):
    """The next request object from the host, or None when stdin is closed."""
    header = read_exact(fd, 4)
    if header is None:
        return None
    (size,) = struct.unpack(">I", header)
    if size > MAX_REQUEST:
        raise FrameError(f"request frame of {size} bytes exceeds the {MAX_REQUEST} byte limit")
    body = read_exact(fd, size)
    if body is None:
        raise FrameError(f"stdin ended in the middle of a frame (0 of {size} bytes)")
    try:
        request = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FrameError(f"request frame is not valid UTF-8 JSON: {exc}") from None
    if not isinstance(request, dict):
        raise FrameError("request frame must hold a JSON object")
    return request


def write_all(fd, data, should_stop):
    """Writes data to a non-blocking fd; returns False if should_stop() turns true first."""
    view = memoryview(data)
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    while view:
        if should_stop():
            return False
        if not poller.poll(100):
            continue
        try:
            view = view[os.write(fd, view[:READ_CHUNK]):]
        except BlockingIOError:
            continue
    return True


def b64(data):
    return base64.b64encode(data).decode("ascii")


def kill_group(pgid):
    """SIGKILLs a process group that may already be gone (or, its pid reused, not ours), again
    until it is gone (for at most ~0.2 s): a child forked while the signal was being delivered
    can miss it, and a fork bomb forks all the time."""
    for _ in range(100):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.002)


def open_pidfd(pid):
    """A pidfd that turns readable when pid exits, or None where pidfd_open is unavailable."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


# -- request fields -----------------------------------------------------------

_REQUIRED = object()


def _field(req, name, check, what, default):
    """req[name] if check(value) holds; default when absent or null (unless required)."""
    value = req.get(name)
    if value is None:
        if default is _REQUIRED:
            raise invalid(f"field {name!r} is missing; it must be {what}")
        return default
    if not check(value):
        raise invalid(f"field {name!r} must be {what}, got {json.dumps(value)[:80]}")
    return value


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def int_field(req, name, default=_REQUIRED, low=0, high=1 << 53):
    return _field(req, name, lambda v: _is_int(v) and low <= v <= high,
                  f"an integer from {low} to {high}", default)


def seconds_field(req, name, default=_REQUIRED):
    value = _field(req, name,
                   lambda v: (_is_int(v) or isinstance(v, float)) and math.isfinite(v) and 0 <= v <= 1e9,
                   "a number of seconds >= 0", default)
    return None if value is None else float(value)


def bool_field(req, name, default=_REQUIRED):
    return _field(req, name, lambda v: isinstance(v, bool), "true or false", default)


def str_field(req, name, default=_REQUIRED):
    return _field(req, name, lambda v: isinstance(v, str) and "\0" not in v,
                  "a string without NUL characters", default)


def base64_field(req, name):
    text = _field(req, name, lambda v: isinstance(v, str), "a base64 string", "")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise invalid(f"field {name!r} is not valid base64") from None


def env_field(req, name):
    def valid(env):
        return isinstance(env, dict) and all(
            isinstance(v, str) and k and "=" not in k and "\0" not in k + v for k, v in env.items())
    return _field(req, name, valid,
                  "an object of string values whose keys are non-empty and contain no '='",
                  dict(os.environ))


def argv_field(req, name):
    return _field(req, name,
                  lambda v: isinstance(v, list) and v and all(isinstance(a, str) and "\0" not in a for a in v),
                  "a non-empty array of strings without NUL characters", _REQUIRED)


def cwd_field(req):
    cwd = os.path.abspath(str_field(req, "cwd", os.getcwd()))
    if not os.path.isdir(cwd):
        raise not_found(f"working directory {cwd!r} does not exist or is not a directory; "
                        "create it first or pass an existing cwd")
    return cwd


# -- exec -------------------------------------------------------------------

def find_program(name, env, cwd):
    """The path the shell would run for name, or None (PATH comes from the child's env)."""
    if "/" in name:
        path = os.path.join(cwd, name)
        return path if os.path.exists(path) else None
    for directory in env.get("PATH", os.defpath).split(os.pathsep):
        path = os.path.join(cwd, directory or ".", name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def shell_failure(exit_code, message):
    """The reply for a program that could not be started, shaped like a shell's."""
    return {"pid": None, "exit_code": exit_code, "signal": None, "stdout": "",
            "stderr": b64(message.encode("utf-8", "replace") + b"\n"), "timed_out": False,
            "output_limit": False, "wall_ms": 0.0, "cpu_ms": 0.0, "max_rss_kb": 0}


def spawn(argv, path, env, cwd, pty_size):
    """Starts argv in a new session; returns (popen, stdin fd, [(output fd, stream)])."""
    if pty_size is None:
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            popen = subprocess.Popen(argv, executable=path, stdin=in_r, stdout=out_w, stderr=err_w,
                                     cwd=cwd, env=env, start_new_session=True)
        except BaseException:
            for fd in (in_w, out_r, err_r):
                os.close(fd)
            raise
        finally:
            for fd in (in_r, out_w, err_w):
                os.close(fd)
        os.set_blocking(in_w, False)
        return popen, in_w, [(out_r, "stdout"), (err_r, "stderr")]
    cols, rows = pty_size
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    args = [sys.executable or "/usr/bin/python3", "-I", "-S", "-c", PTY_EXEC, path, str(len(argv)),
            *argv, *(f"{k}={v}" for k, v in env.items())]
    try:
        popen = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env={},
                                 start_new_session=True)
    except BaseException:
        os.close(master)
        raise
    finally:
        os.close(slave)
    os.set_blocking(master, False)
    return popen, master, [(master, "stdout")]


class Process:
    """A child started by exec: its output, exit status and stdin."""

    def __init__(self, popen, argv, cwd, background, pty, max_output, stdin_fd):
        self.pid = popen.pid
        self.argv, self.cwd, self.background, self.pty = argv, cwd, background, pty
        self.started_at = time.time()
        self.done = threading.Event()         # set once the exit status and all output are in
        self._popen = popen
        self._t0 = time.monotonic()
        self._max_output = max_output
        self._lock = threading.Lock()         # guards output and exit status
        self._stdin_lock = threading.Lock()   # serializes writes to stdin_fd and its closing
        self._stdin_fd = stdin_fd             # pipe to the child's stdin, or the pty master
        self._output = {"stdout": bytearray(), "stderr": bytearray()}
        self._kept = 0
        self.reaped = False
        self.exit_code = self.signal = self.ended_at = None
        self.timed_out = self.truncated = False
        self._usage = (0.0, 0.0, 0)           # wall_ms, cpu_ms, max_rss_kb
        self.on_output = None                 # on_output(stream, data) as output comes (a streamed exec)
        self.attach_wake = None               # set to end the attach streaming the output (exit, takeover, detach)

    def start(self, out_fds, stdin_data, timeout, on_exit):
        """Starts feeding stdin and collecting output; on_exit(self) runs when all is in.
        A foreground command is watched on the caller's thread (this returns once it is done),
        and its stdin, when it has no bytes to feed, ends at once: a command needs no thread of
        the session's own (a fork bomb's processes and the agent's threads share one limit).
        RuntimeError when a thread it needs cannot start: the child is then killed and reaped,
        never left unwatched."""
        deadline = self._t0 + timeout if timeout > 0 else None
        if not self.background and not stdin_data:
            with self._stdin_lock:
                try:
                    self._write_stdin_locked(b"", True)
                except RequestError:
                    pass  # it exited already
        elif stdin_data:
            # The feeder owns the stdin lock, so stdin ops queue behind the initial bytes.
            # A foreground child's stdin ends after them.
            self._stdin_lock.acquire()
            try:
                threading.Thread(target=self._feed_initial, args=(stdin_data, not self.background),
                                 daemon=True).start()
            except RuntimeError:
                self._stdin_lock.release()
                self._abandon(out_fds, on_exit)
                raise
        if not self.background:
            self._monitor(out_fds, deadline, on_exit)
            return
        try:
            threading.Thread(target=self._monitor, args=(out_fds, deadline, on_exit), daemon=True).start()
        except RuntimeError:
            self._abandon(out_fds, on_exit)
            raise

    def _abandon(self, out_fds, on_exit):
        """Kills and reaps a child that cannot be watched, and closes its descriptors."""
        kill_group(self.pid)
        self._reap_blocking()
        with self._stdin_lock:
            fds = {fd for fd, _ in out_fds} | ({self._stdin_fd} if self._stdin_fd is not None else set())
            self._stdin_fd = None
        for fd in fds:
            os.close(fd)
        self.done.set()
        on_exit(self)

    def _reap_blocking(self):
        while not self._reap():
            time.sleep(0.01)

    # stdin

    def write_stdin(self, data, eof):
        with self._stdin_lock:
            self._write_stdin_locked(data, eof)

    def _feed_initial(self, data, eof):
        try:
            self._write_stdin_locked(data, eof)
        except RequestError:
            pass  # the child exited or closed stdin before taking everything
        finally:
            self._stdin_lock.release()

    def _write_stdin_locked(self, data, eof):
        fd = self._stdin_fd
        if fd is None:
            if self.reaped:
                raise failed(f"process {self.pid} has exited; its stdin is closed")
            raise failed(f"stdin of process {self.pid} is already closed (eof was sent)")
        if eof and self.pty:
            data += CTRL_D  # a terminal cannot be closed; ^D ends the reader's input
        try:
            complete = write_all(fd, data, lambda: self.reaped)
        except OSError:
            complete = False
        if not complete:
            raise failed(f"process {self.pid} exited or closed its stdin before reading all of the data")
        if eof and not self.pty:
            os.close(fd)
            self._stdin_fd = None

    # output and exit

    def _monitor(self, out_fds, deadline, on_exit):
        """Collects output, enforces the timeout and reaps the child."""
        sel = selectors.DefaultSelector()
        for fd, stream in out_fds:
            sel.register(fd, selectors.EVENT_READ, stream)
        pidfd = open_pidfd(self.pid)
        if pidfd is not None:
            sel.register(pidfd, selectors.EVENT_READ, None)
        try:
            exited_at = None
            while True:
                now = time.monotonic()
                if exited_at is None and self._reap():
                    exited_at = now
                    if pidfd is not None:
                        sel.unregister(pidfd)
                if exited_at is not None:
                    # Grandchildren may hold the pipes open: stop reading shortly after exit.
                    wait = exited_at + DRAIN_AFTER_EXIT - now
                    if wait <= 0 or not sel.get_map():
                        break
                else:
                    if deadline is not None and now >= deadline:
                        self.timed_out = True
                        kill_group(self.pid)
                        deadline = None
                    wait = None if deadline is None else deadline - now
                    if pidfd is None:
                        wait = EXIT_POLL if wait is None else min(wait, EXIT_POLL)
                for key, _ in sel.select(wait):
                    if key.data is not None:
                        self._read(sel, key.fd, key.data)
        except Exception:
            traceback.print_exc()
        finally:
            sel.close()
            if pidfd is not None:
                os.close(pidfd)
            if not self.pty:  # a pty master is the stdin fd, closed below
                for fd, _ in out_fds:
                    os.close(fd)
            with self._stdin_lock:
                if self._stdin_fd is not None:
                    os.close(self._stdin_fd)
                    self._stdin_fd = None
            self.done.set()
            with self._lock:
                wake = self.attach_wake
            if wake is not None:
                wake.set()
            on_exit(self)

    def _read(self, sel, fd, stream):
        try:
            data = os.read(fd, READ_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""  # EIO: the last holder of the pty slave closed it
        if not data:
            sel.unregister(fd)
            return
        with self._lock:
            room = self._max_output - self._kept
            over = len(data) > room
            if over:
                data = data[:room]
            self._output[stream] += data
            self._kept += len(data)
            first_overflow = over and not self.truncated
            self.truncated = self.truncated or over
            # Read under the lock: an attach either saw these bytes in its snapshot or gets them here.
            on_output = self.on_output
        if data and on_output is not None:
            on_output(stream, data)
        if first_overflow and not self.background:
            kill_group(self.pid)  # a foreground child over its output limit is stopped

    def _reap(self):
        """Collects the exit status if the child has exited; True once it has."""
        pid, status, usage = os.wait4(self.pid, os.WNOHANG)
        if pid == 0:
            return False
        code = os.waitstatus_to_exitcode(status)
        self._popen.returncode = code  # subprocess must never wait for it again
        with self._lock:
            self.exit_code, self.signal = (code, None) if code >= 0 else (None, -code)
            self.ended_at = time.time()
            self._usage = ((time.monotonic() - self._t0) * 1000,
                           (usage.ru_utime + usage.ru_stime) * 1000, usage.ru_maxrss)
            self.reaped = True
        return True

    # control

    def signal_group(self, signum):
        """Signals the child's process group. The child leads its own session, so it
        cannot leave that group; ProcessLookupError means the whole group is gone."""
        os.killpg(self.pid, signum)

    def resize(self, cols, rows):
        if not self.pty:
            raise invalid(f"process {self.pid} was not started with a pty; only pty processes can be resized")
        with self._stdin_lock:
            if self._stdin_fd is None:
                raise failed(f"process {self.pid} has exited; its terminal is gone")
            fcntl.ioctl(self._stdin_fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        try:
            os.killpg(self.pid, signal.SIGWINCH)
        except ProcessLookupError:
            pass

    # replies

    def _summary_locked(self):
        return {"pid": self.pid, "argv": self.argv, "cwd": self.cwd,
                "status": "exited" if self.reaped else "running",
                "exit_code": self.exit_code, "signal": self.signal, "background": self.background,
                "pty": self.pty, "started_at": self.started_at, "ended_at": self.ended_at}

    def summary(self):
        with self._lock:
            return self._summary_locked()

    def details(self):
        with self._lock:
            reply = self._summary_locked()
            stdout, stderr = bytes(self._output["stdout"]), bytes(self._output["stderr"])
            reply.update(truncated=self.truncated, timed_out=self.timed_out)
        reply.update(stdout=b64(stdout), stderr=b64(stderr))
        return reply

    def result(self):
        """The reply to a foreground exec; call once done is set."""
        wall_ms, cpu_ms, max_rss_kb = self._usage
        return {"pid": self.pid, "exit_code": self.exit_code, "signal": self.signal,
                "stdout": b64(self._output["stdout"]), "stderr": b64(self._output["stderr"]),
                "timed_out": self.timed_out, "output_limit": self.truncated,
                "wall_ms": round(wall_ms, 3), "cpu_ms": round(cpu_ms, 3), "max_rss_kb": max_rss_kb}


class ProcessTable:
    """Running processes plus the last KEEP_EXITED exited ones, by pid."""

    def __init__(self):
        self._lock = threading.Lock()
        self._procs = {}
        self._exited = collections.deque()

    def add(self, proc):
        with self._lock:
            self._procs[proc.pid] = proc

    def retire(self, proc):
        with self._lock:
            self._exited.append(proc)
            while len(self._exited) > KEEP_EXITED:
                old = self._exited.popleft()
                if self._procs.get(old.pid) is old:  # the pid may have been reused since
                    del self._procs[old.pid]

    def get(self, pid):
        with self._lock:
            proc = self._procs.get(pid)
        if proc is None:
            raise not_found(f"no process with pid {pid} was started by this session "
                            f"(only the last {KEEP_EXITED} exited processes are remembered)")
        return proc

    def all(self):
        with self._lock:
            return list(self._procs.values())


# -- code contexts --------------------------------------------------------------

class _ServerGone(Exception):
    """The context server exited, was deleted, or broke the frame protocol."""


class _Timeout(Exception):
    pass


def interpreter(absolute, name, env):
    """The absolute interpreter path if present, else name from PATH."""
    if os.access(absolute, os.X_OK):
        return absolute
    found = shutil.which(name, path=env.get("PATH")) or shutil.which(name)
    if found is None:
        raise failed(f"{name} is not installed in this sandbox ({absolute} is missing and {name} is not on PATH)")
    return found


class Context:
    """A stateful code interpreter: a context server child process, restarted when it dies.

    The server reads request frames from one pipe and writes reply frames to
    another; their fd numbers are its last two arguments. Its fd 0 is
    /dev/null and fds 1 and 2 go to a log pipe whose tail explains crashes.
    """

    def __init__(self, context_id, language, source, cwd, env):
        self.id, self.language = context_id, language
        self._source, self._cwd, self._env = source, cwd, env
        self._lock = threading.Lock()   # one run (or start/stop) at a time
        self._popen = None
        self._requests = self._replies = None
        self._log = bytearray()         # tail of the server's fds 1 and 2
        self._log_lock = threading.Lock()
        self._drainer = None            # thread reading the log pipe
        self.closed = False

    @property
    def pid(self):
        popen = self._popen
        return popen.pid if popen else None

    def start(self):
        with self._lock:
            self._start()

    def run(self, code, timeout):
        with self._lock:
            if self.closed:
                raise not_found(f"context {self.id} was deleted")
            if self._popen is None:
                self._start()  # the restart after the last failure did not work; try again
            started = time.monotonic()
            deadline = started + timeout if timeout > 0 else None
            error = None
            try:
                self._send({"code": code}, deadline)
                reply = self._receive(deadline)
            except _Timeout:
                error = {"name": "TimeoutError", "traceback": "",
                         "value": f"the code ran longer than {timeout:g} s; "
                                  "the context was restarted and its state is lost"}
            except _ServerGone as gone:
                error = {"name": "ContextDied", "traceback": "",
                         "value": f"the {self.language} context server {gone}; "
                                  "the context was restarted and its state is lost"}
            wall_ms = round((time.monotonic() - started) * 1000, 3)
            if error is not None:
                self._stop()
                if error["name"] == "ContextDied":
                    error["traceback"] = self._log_tail()  # what the server printed as it died
                if self.closed:
                    error["value"] = "the context was deleted while the code ran"
                else:
                    try:
                        self._start()
                    except RequestError as exc:
                        error["value"] += f"; restarting it failed ({exc}), the next run will try again"
                reply = {"stdout": "", "stderr": "", "result": None, "error": error}
            return {"stdout": str(reply.get("stdout", "")), "stderr": str(reply.get("stderr", "")),
                    "result": reply.get("result"), "error": reply.get("error"), "wall_ms": wall_ms}

    def close(self):
        """Stops the server for good; a run in progress notices within 0.25 s."""
        self.closed = True
        with self._lock:
            self._stop()

    def kill(self):
        """Kills the server without waiting for a run in progress (agent exit only)."""
        popen = self._popen
        if popen is not None:
            kill_group(popen.pid)

    def _start(self):
        if self.language == "python":
            program = interpreter("/usr/bin/python3", "python3", self._env)
            prefix = [program, "-I", "-u", "-c"]
        else:
            program = interpreter("/usr/bin/node", "node", self._env)
            prefix = [program, "-e"]
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        log_r, log_w = os.pipe()
        try:
            self._popen = subprocess.Popen(
                [*prefix, self._source, str(req_r), str(rep_w)], stdin=subprocess.DEVNULL,
                stdout=log_w, stderr=log_w, cwd=self._cwd, env=self._env,
                start_new_session=True, pass_fds=(req_r, rep_w))
        except OSError as exc:
            for fd in (req_w, rep_r, log_r):
                os.close(fd)
            raise failed(f"could not start the {self.language} context server: {exc}") from None
        finally:
            for fd in (req_r, rep_w, log_w):
                os.close(fd)
        os.set_blocking(req_w, False)
        os.set_blocking(rep_r, False)
        self._requests, self._replies = req_w, rep_r
        with self._log_lock:
            self._log.clear()
        self._drainer = threading.Thread(target=self._drain_log, args=(log_r,), daemon=True)
        self._drainer.start()
        try:
            self._receive(time.monotonic() + CONTEXT_START_TIMEOUT)  # the server's ready frame
        except (_ServerGone, _Timeout) as exc:
            self._stop()
            reason = str(exc) or f"did not get ready within {CONTEXT_START_TIMEOUT:g} s"
            raise failed(f"the {self.language} context server did not start: {reason}; "
                         f"its output: {self._log_tail()!r}") from None

    def _stop(self):
        """Kills the server's process group, reaps it and closes its pipes."""
        if self._popen is None:
            return
        kill_group(self._popen.pid)
        self._popen.wait()
        os.close(self._requests)
        os.close(self._replies)
        self._popen = None

    def _drain_log(self, fd):
        while chunk := os.read(fd, 4096):
            with self._log_lock:
                self._log += chunk
                del self._log[:-CONTEXT_LOG_TAIL]
        os.close(fd)

    def _log_tail(self):
        """The end of the server's own output; call after _stop so the log is complete."""
        self._drainer.join(0.5)  # a grandchild may keep the log pipe open
        with self._log_lock:
            return self._log.decode("utf-8", "replace")

    def _send(self, message, deadline):
        def should_stop():
            return self.closed or (deadline is not None and time.monotonic() >= deadline)
        try:
            if write_all(self._requests, encode_frame(message), should_stop):
                return
        except OSError:
            raise _ServerGone(self._exit_description()) from None
        if self.closed:
            raise _ServerGone("was deleted")
        raise _Timeout()

    def _receive(self, deadline):
        (size,) = struct.unpack(">I", self._read_exact(4, deadline))
        if size > MAX_CONTEXT_FRAME:
            raise _ServerGone(f"sent a {size} byte frame, over the {MAX_CONTEXT_FRAME} byte limit")
        try:
            reply = json.loads(self._read_exact(size, deadline))
        except (ValueError, RecursionError):
            raise _ServerGone("sent a frame that is not JSON") from None
        if not isinstance(reply, dict):
            raise _ServerGone("sent a frame that is not a JSON object")
        return reply

    def _read_exact(self, size, deadline):
        buf = bytearray()
        poller = select.poll()
        poller.register(self._replies, select.POLLIN)
        while len(buf) < size:
            wait = 0.25
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    raise _Timeout()
            if self.closed:
                raise _ServerGone("was deleted")
            if not poller.poll(wait * 1000):
                # A child of the server may hold the pipe open after the server died.
                if self._popen.poll() is not None:
                    raise _ServerGone(self._exit_description())
                continue
            try:
                chunk = os.read(self._replies, min(size - len(buf), 1 << 20))
            except BlockingIOError:
                continue
            if not chunk:
                raise _ServerGone(self._exit_description())
            buf += chunk
        return bytes(buf)

    def _exit_description(self):
        try:
            code = self._popen.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return "closed its reply pipe"
        return f"exited with status {code}" if code >= 0 else f"was killed by signal {-code}"


class ContextTable:
    def __init__(self):
        self._lock = threading.Lock()
        self._contexts = {}

    def add(self, context):
        with self._lock:
            if len(self._contexts) >= MAX_CONTEXTS:
                raise failed(f"this session already has {MAX_CONTEXTS} contexts; delete one first")
            self._contexts[context.id] = context

    def new_id(self):
        with self._lock:
            while (context_id := secrets.token_hex(4)) in self._contexts:
                pass
            return context_id

    def get(self, context_id):
        with self._lock:
            context = self._contexts.get(context_id)
        if context is None:
            raise not_found(f"no context {context_id!r}; create one with context_create")
        return context

    def pop(self, context_id):
        with self._lock:
            context = self._contexts.pop(context_id, None)
        if context is None:
            raise not_found(f"no context {context_id!r}")
        return context

    def all(self):
        with self._lock:
            return list(self._contexts.values())


# -- the agent ------------------------------------------------------------------

class Agent:
    def __init__(self, frames_out):
        self._out = frames_out
        self._out_lock = threading.Lock()
        self._in_flight = threading.BoundedSemaphore(MAX_IN_FLIGHT)
        self._sources = None    # {"python": ..., "javascript": ...} once hello arrived
        self.processes = ProcessTable()
        self.contexts = ContextTable()
        self._ops = {
            "hello": self.op_hello, "ping": self.op_ping, "exec": self.op_exec,
            "processes": self.op_processes, "process": self.op_process, "wait": self.op_wait,
            "stdin": self.op_stdin, "attach": self.op_attach, "detach": self.op_detach, "signal": self.op_signal, "resize": self.op_resize,
            "context_create": self.op_context_create, "run_code": self.op_run_code,
            "context_delete": self.op_context_delete, "contexts": self.op_contexts,
            "shutdown": self.op_shutdown, "unpack": self.op_unpack,
        }

    def serve(self, fd):
        """Reads requests until stdin closes; each one is handled on its own thread."""
        while True:
            try:
                request = read_request(fd)
            except FrameError as exc:
                self._write(encode_frame({"id": None, "ok": False, "code": "invalid_request",
                                          "error": f"{exc}; the session agent exits"}))
                self.terminate(2)
            if request is None:
                self.terminate(0)
            if not self._in_flight.acquire(blocking=False):
                rid = request.get("id") if _is_int(request.get("id")) else None
                self._write(encode_frame({"id": rid, "ok": False, "code": "failed",
                                          "error": f"{MAX_IN_FLIGHT} requests are already in progress; "
                                                   "wait for some replies and retry"}))
                continue
            try:
                threading.Thread(target=self.handle, args=(request,), daemon=True).start()
            except RuntimeError:
                # The session's process limit counts threads: at it, this request is refused and
                # the agent goes on (it must never die of its session's load).
                self._in_flight.release()
                rid = request.get("id") if _is_int(request.get("id")) else None
                self._write(encode_frame({"id": rid, "ok": False, "code": "failed",
                                          "error": "the session is at its process limit (threads count): "
                                                   "end some processes and retry"}))

    def handle(self, request):
        rid = request.get("id") if _is_int(request.get("id")) else None
        ok = False
        try:
            try:
                frame = encode_frame({"id": rid, "ok": True, **self._dispatch(request)})
                ok = True
            except RequestError as exc:
                frame = encode_frame({"id": rid, "ok": False, "code": exc.code, "error": str(exc)})
            except Exception as exc:
                traceback.print_exc()
                frame = encode_frame({"id": rid, "ok": False, "code": "failed",
                                      "error": f"the session agent failed: {type(exc).__name__}: {exc}"})
            self._write(frame)
        finally:
            self._in_flight.release()
        if ok and request.get("op") == "shutdown":
            self.terminate(0)

    def _dispatch(self, request):
        int_field(request, "id", low=-(1 << 53))
        op = request.get("op")
        handler = self._ops.get(op) if isinstance(op, str) else None
        if handler is None:
            raise invalid(f"unknown op {op!r}; known ops: {', '.join(sorted(self._ops))}")
        return handler(request)

    def _write(self, frame):
        with self._out_lock:
            view = memoryview(frame)
            while view:
                view = view[os.write(self._out, view):]

    def terminate(self, status):
        """Kills every process group this agent started and exits."""
        for proc in self.processes.all():
            kill_group(proc.pid)
        for context in self.contexts.all():
            context.kill()
        with self._out_lock:  # never exit halfway through a reply
            os._exit(status)

    # ops

    def op_hello(self, req):
        self._sources = {"python": str_field(req, "python_context_source"),
                         "javascript": str_field(req, "javascript_context_source")}
        return {"pid": os.getpid()}

    def op_ping(self, req):
        return {}

    def op_shutdown(self, req):
        return {}  # handle() exits once this reply is written

    def op_exec(self, req):
        argv = argv_field(req, "argv")
        env = env_field(req, "env")
        cwd = cwd_field(req)
        stdin = base64_field(req, "stdin")
        timeout = seconds_field(req, "timeout", 0.0)
        background = bool_field(req, "background", False)
        stream = bool_field(req, "stream", False)
        max_output = int_field(req, "max_output", DEFAULT_MAX_OUTPUT)
        pty = _field(req, "pty", lambda v: isinstance(v, dict), "null or an object {cols, rows}", None)
        pty_size = None if pty is None else (int_field(pty, "cols", 80, 1, 65535), int_field(pty, "rows", 24, 1, 65535))

        path = find_program(argv[0], env, cwd)
        if path is None:
            if "/" in argv[0]:
                return shell_failure(127, f"{argv[0]}: No such file or directory")
            return shell_failure(127, f"{argv[0]}: command not found")
        spawned_at = time.monotonic()  # wall time counts from before the fork, as the CPU time does
        try:
            popen, stdin_fd, out_fds = spawn(argv, path, env, cwd, pty_size)
        except OSError as exc:
            return shell_failure(126, f"{argv[0]}: {exc.strerror or exc}")
        proc = Process(popen, argv, cwd, background, pty_size is not None, max_output, stdin_fd)
        proc._t0 = spawned_at
        self.processes.add(proc)
        if stream and not background:
            # Output events go out as it comes, each before the reply (the reply waits for the reader).
            rid = req.get("id")
            proc.on_output = lambda name, data: self._write(encode_frame(
                {"id": rid, "event": "output", "stream": name, "data": b64(data)}))
        try:
            proc.start(out_fds, stdin, timeout, self.processes.retire)
        except RuntimeError:
            raise failed("the session is at its process limit (threads count): end some processes and retry")
        if background:
            return {"pid": proc.pid}
        proc.done.wait()
        # A foreground command ends with everything it left behind in its process group (a fork
        # bomb's children, a stray `&` job): long-lived work is what `background` is for.
        kill_group(proc.pid)
        return proc.result()

    def op_processes(self, req):
        return {"processes": [proc.summary() for proc in self.processes.all()]}

    def op_process(self, req):
        return self.processes.get(int_field(req, "pid", low=1)).details()

    def op_wait(self, req):
        proc = self.processes.get(int_field(req, "pid", low=1))
        proc.done.wait(seconds_field(req, "timeout", None))
        return proc.details()

    def op_attach(self, req):
        """Streams a background process's output as events (what it wrote so far first) until it
        exits; the reply is its summary. A later attach takes the stream over, and a detach ends
        it: the earlier call then replies at once, with "detached": true."""
        proc = self.processes.get(int_field(req, "pid", low=1))
        if not proc.background:
            raise invalid(f"process {proc.pid} is a foreground command: its output streams to the exec that started it")
        rid = req.get("id")

        def send(name, data):
            self._write(encode_frame({"id": rid, "event": "output", "stream": name, "data": b64(data)}))

        wake = threading.Event()
        with proc._lock:
            # Sent under the lock: output read after this waits for it, so nothing newer goes first.
            for name in ("stdout", "stderr"):
                if proc._output[name]:
                    send(name, bytes(proc._output[name]))
            proc.on_output = send
            taken, proc.attach_wake = proc.attach_wake, wake
        if taken is not None:
            taken.set()  # the earlier attach ends now
        # Registered before this check: an exit after it sets `wake` (see _monitor).
        if not proc.done.is_set():
            wake.wait()
        with proc._lock:
            if proc.on_output is send:
                proc.on_output = None
            if proc.attach_wake is wake:
                proc.attach_wake = None
        return {**proc.summary(), "detached": not proc.done.is_set()}

    def op_detach(self, req):
        """Ends the attach streaming a process's output (its client went away)."""
        proc = self.processes.get(int_field(req, "pid", low=1))
        with proc._lock:
            wake, proc.attach_wake = proc.attach_wake, None
            if wake is not None:
                proc.on_output = None
        if wake is not None:
            wake.set()
        return {}

    def op_stdin(self, req):
        proc = self.processes.get(int_field(req, "pid", low=1))
        proc.write_stdin(base64_field(req, "data"), bool_field(req, "eof", False))
        return {}

    def op_signal(self, req):
        proc = self.processes.get(int_field(req, "pid", low=1))
        signum = int_field(req, "signal", low=1, high=signal.NSIG - 1)
        try:
            proc.signal_group(signum)
        except ProcessLookupError:
            raise failed(f"process {proc.pid} has exited and nothing is left in its process group") from None
        except PermissionError:
            raise failed(f"not allowed to signal the process group of {proc.pid}") from None
        return {}

    def op_resize(self, req):
        proc = self.processes.get(int_field(req, "pid", low=1))
        proc.resize(int_field(req, "cols", low=1, high=65535), int_field(req, "rows", low=1, high=65535))
        return {}

    def op_context_create(self, req):
        language = _field(req, "language", lambda v: v in ("python", "javascript"),
                          'one of "python", "javascript"', _REQUIRED)
        env = env_field(req, "env")
        cwd = cwd_field(req)
        if self._sources is None:
            raise failed("no context server sources yet; the host must send hello first")
        context = Context(self.contexts.new_id(), language, self._sources[language], cwd, env)
        self.contexts.add(context)
        try:
            context.start()
        except RequestError:
            self.contexts.pop(context.id)
            raise
        return {"context_id": context.id}

    def op_run_code(self, req):
        context = self.contexts.get(str_field(req, "context_id"))
        code = _field(req, "code", lambda v: isinstance(v, str), "a string", _REQUIRED)
        return context.run(code, seconds_field(req, "timeout", 0.0))

    def op_context_delete(self, req):
        self.contexts.pop(str_field(req, "context_id")).close()
        return {}

    def op_contexts(self, req):
        return {"contexts": [{"context_id": c.id, "language": c.language, "pid": c.pid}
                             for c in self.contexts.all()]}

    def op_unpack(self, req):
        """Unpacks a zip into a directory, all or nothing checked first: no absolute name, no `..`,
        no symlink or special entry, at most max_files entries and max_bytes in all (counted while
        writing, not taken from the headers), no entry inflating more than max_ratio times; never
        writes through a symlink already in the directory."""
        import stat as stat_module
        import zipfile
        archive = str_field(req, "zip")
        dest = str_field(req, "dest")
        max_files = int_field(req, "max_files", 100000, 1, 1 << 30)
        max_bytes = int_field(req, "max_bytes", 1 << 30, 1, 1 << 50)
        max_ratio = int_field(req, "max_ratio", 200, 1, 1 << 20)
        try:
            zf = zipfile.ZipFile(archive)
        except (OSError, zipfile.BadZipFile, ValueError) as e:
            raise invalid("the upload is not a zip archive: %s" % e)
        with zf:
            members = zf.infolist()
            if len(members) > max_files:
                raise invalid("the archive holds %d entries; at most %d are unpacked" % (len(members), max_files))
            declared = 0
            for m in members:
                name = m.filename
                parts = [p for p in name.split("/") if p not in ("", ".")]
                if name.startswith("/") or "\\" in name or ".." in parts or "\0" in name:
                    raise invalid("the archive entry %r leaves the directory (absolute or '..'); nothing was unpacked" % name)
                mode = (m.external_attr >> 16) & 0xFFFF
                kind = stat_module.S_IFMT(mode)
                if kind not in (0, stat_module.S_IFREG, stat_module.S_IFDIR):
                    raise invalid("the archive entry %r is a symlink or a special file, which are not unpacked; nothing was unpacked" % name)
                declared += m.file_size
                if m.file_size > (1 << 20) and m.compress_size and m.file_size > max_ratio * m.compress_size:
                    raise invalid("the archive entry %r inflates %d times (at most %d); nothing was unpacked" % (name, m.file_size // max(1, m.compress_size), max_ratio))
            if declared > max_bytes:
                raise invalid("the archive holds %d bytes unpacked; at most %d fit" % (declared, max_bytes))
            os.makedirs(dest, exist_ok=True)
            root = os.path.realpath(dest)
            written = 0
            files = 0
            for m in members:
                parts = [p for p in m.filename.split("/") if p not in ("", ".")]
                if not parts:
                    continue
                target = os.path.join(root, *parts)
                parent = os.path.dirname(target) if not m.is_dir() else target
                os.makedirs(parent, exist_ok=True)
                if os.path.realpath(parent) != parent:
                    raise failed("%r would be written through a symlink in the directory; unpacking stopped" % m.filename)
                if m.is_dir():
                    continue
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
                with os.fdopen(fd, "wb") as out, zf.open(m) as src:
                    while True:
                        chunk = src.read(1 << 16)
                        if not chunk:
                            break
                        written += len(chunk)
                        if written > max_bytes:
                            raise invalid("the archive unpacks to more than %d bytes (its headers said less); unpacking stopped" % max_bytes)
                        out.write(chunk)
                files += 1
        return {"files": files, "bytes": written}


def main():
    frames_out = os.dup(1)  # replies only; the dup is close-on-exec
    os.dup2(2, 1)           # anything else written to fd 1 lands in the log
    sys.stdout = sys.stderr
    os.set_inheritable(0, False)
    Agent(frames_out).serve(0)


main()
