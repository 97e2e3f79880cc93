#!/usr/bin/env python3
"""A scripted OpenAI-compatible chat-completions server for Corral's agent tests.

Replays canned replies in order and records every request; nothing is generated.

    scripted-llm.py --port PORT --dir DIR

DIR/script.json is read at each request: a list of replies, the Nth request gets the Nth (the last
repeats); a new script (the file rewritten) starts again from its first reply. A reply is {"content": "..."} (200), or {"status": 500, "body": "..."}, and may carry
"delay": seconds before answering (a hung model) and "usage": {...}. {"raw": "..."} sends those
bytes as the whole response (a broken server), one every "trickle" seconds when given. Each request is appended to
DIR/requests.jsonl as {"path", "authorization", "body"}.
"""
import argparse, json, os, signal, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--dir", required=True)
args = parser.parse_args()
# A parent that ignores or blocks SIGTERM (a test process) passes that on through exec: stop on it anyway.
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])
lock = threading.Lock()
count = 0
script_version = None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        global count, script_version
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"unparsable": raw.decode("utf-8", "replace")}
        with lock:
            st = os.stat(os.path.join(args.dir, "script.json"))
            version = (st.st_ino, st.st_mtime_ns)
            if version != script_version:
                script_version, count = version, 0
            index = count
            count += 1
            with open(os.path.join(args.dir, "requests.jsonl"), "a") as f:
                f.write(json.dumps({"path": self.path, "authorization": self.headers.get("Authorization"), "body": body}) + "\n")
            with open(os.path.join(args.dir, "script.json")) as f:
                script = json.load(f)
        reply = script[min(index, len(script) - 1)]
        time.sleep(reply.get("delay", 0))
        if "raw" in reply:
            self.close_connection = True
            try:
                if not reply.get("trickle", 0):
                    self.wfile.write(reply["raw"].encode())  # at once: a megabyte byte by byte outlasts a 1 s deadline on a busy machine
                    self.wfile.flush()
                for byte in reply["raw"].encode() if reply.get("trickle", 0) else b"":
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(reply.get("trickle", 0))
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        status = reply.get("status", 200)
        if status == 200 and "content" in reply:
            usage = reply.get("usage", {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120})
            payload = json.dumps({"id": f"chatcmpl-{index}", "object": "chat.completion", "model": body.get("model"),
                                  "choices": [{"index": 0, "finish_reason": "stop",
                                               "message": {"role": "assistant", "content": reply["content"]}}],
                                  "usage": usage}).encode()
        else:
            payload = reply.get("body", json.dumps({"error": {"message": "scripted failure"}})).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        try:
            self.wfile.write(payload)
        except BrokenPipeError:
            pass


ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()
