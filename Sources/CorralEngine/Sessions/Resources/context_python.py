"""Corral Python context server.

Started by the session agent as `python3 -I -u -c <this source> IN_FD OUT_FD`.
Reads requests {"code": "..."} as frames (a 4-byte big-endian length, then
UTF-8 JSON) from IN_FD, runs each one in a namespace that persists across
requests, and answers on OUT_FD with {"stdout", "stderr", "result", "error"}.
Writes to sys.stdout and sys.stderr are captured; fds 1 and 2 are a log whose
tail the agent reports if this server dies.
"""

import ast
import builtins
import inspect
import io
import json
import os
import struct
import sys
import threading
import traceback
import types

CELL = "<cell>"            # filename of user code in tracebacks
MAX_STREAM = 8 << 20       # characters of stdout/stderr kept per run
MAX_TEXT = 64 << 10        # characters of a result's repr
MAX_JSON = 1 << 20         # bytes of a result's JSON
FLAGS = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT

# User code runs in a fresh __main__ module, so pickle and dataclasses find its names.
MAIN = types.ModuleType("__main__")
MAIN.__builtins__ = builtins
sys.modules["__main__"] = MAIN
NAMESPACE = MAIN.__dict__


class Capture(io.TextIOBase):
    """A text stream keeping what is written to it, up to MAX_STREAM characters per run."""

    encoding = "utf-8"
    errors = "strict"

    def __init__(self):
        super().__init__()
        self._lock = threading.Lock()  # user threads may print too
        self._parts, self._size, self._dropped = [], 0, 0

    def writable(self):
        return True

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        with self._lock:
            kept = text[:max(0, MAX_STREAM - self._size)]
            self._parts.append(kept)
            self._size += len(kept)
            self._dropped += len(text) - len(kept)
        return len(text)

    def take(self):
        """Returns what was written since the last take and forgets it."""
        with self._lock:
            text = "".join(self._parts)
            if self._dropped:
                text += f"\n[{self._dropped} more characters were not kept]\n"
            self._parts, self._size, self._dropped = [], 0, 0
        return text


STDOUT, STDERR = Capture(), Capture()
_loop = None  # event loop for cells using top-level await, kept across runs


def execute(code):
    """Runs a compiled cell; awaits it when it used top-level await."""
    global _loop
    value = eval(code, NAMESPACE)
    if code.co_flags & inspect.CO_COROUTINE:
        if _loop is None:
            import asyncio
            _loop = asyncio.new_event_loop()
        value = _loop.run_until_complete(value)
    return value


def describe_value(value):
    try:
        text = repr(value)
    except Exception as exc:
        text = f"<repr() failed: {type(exc).__name__}: {exc}>"
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + "..."
    try:
        encoded = json.dumps(value, allow_nan=False)
        data = json.loads(encoded) if len(encoded) <= MAX_JSON else None
    except Exception:
        data = None  # not JSON-serializable
    return {"text": text, "json": data}


def describe_error(exc):
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != CELL:
        tb = tb.tb_next  # drop this server's frames above the cell
    try:
        value = str(exc)
    except Exception:
        value = "<str() failed>"
    return {"name": type(exc).__name__, "value": value,
            "traceback": "".join(traceback.format_exception(type(exc), exc, tb))}


def run_cell(source):
    """Runs source like a notebook cell: the value of a final expression is the result."""
    sys.stdout, sys.stderr = STDOUT, STDERR  # user code may have replaced them
    result = error = None
    try:
        tree = ast.parse(source, CELL)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        execute(compile(tree, CELL, "exec", FLAGS))
        if last is not None:
            value = execute(compile(ast.Expression(last.value), CELL, "eval", FLAGS))
            if value is not None:
                result = describe_value(value)
    except BaseException as exc:  # SystemExit and KeyboardInterrupt too: the context lives on
        error = describe_error(exc)
    return {"stdout": STDOUT.take(), "stderr": STDERR.take(), "result": result, "error": error}


def read_frame(fd):
    """The next request object, or None once the agent closes the pipe."""
    def exact(size):
        buf = bytearray()
        while len(buf) < size:
            chunk = os.read(fd, size - len(buf))
            if not chunk:
                return None
            buf += chunk
        return bytes(buf)
    header = exact(4)
    body = header and exact(struct.unpack(">I", header)[0])
    return None if body is None else json.loads(body)


def send(fd, message):
    body = json.dumps(message, ensure_ascii=False, allow_nan=False).encode("utf-8", "replace")
    view = memoryview(struct.pack(">I", len(body)) + body)
    while view:
        view = view[os.write(fd, view):]


def main():
    in_fd, out_fd = int(sys.argv[1]), int(sys.argv[2])
    for fd in (in_fd, out_fd):
        os.set_inheritable(fd, False)  # subprocesses of user code must not hold the frame pipes
    send(out_fd, {"ready": True, "pid": os.getpid()})
    while (request := read_frame(in_fd)) is not None:
        send(out_fd, run_cell(request["code"]))


main()
