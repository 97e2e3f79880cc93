"""Throws random and hostile task messages at a Corral fleet over NATS, as a fuzzer would.

Usage: nats_fuzz.py NATS_URL [COUNT] [SEED]

Every message must be answered (a reply, never a timeout) with seed 000's shape: status "success"
with a result, or status "error" with an error string; and the service must still answer a good
task at the end. Prints a JSON summary last; exits 1 on any violation.
"""
import asyncio
import json
import random
import sys

import nats

TYPES = ["execute_code", "validate_code", "list_languages", "get_execution_history",
         "get_resource_limits_info", "get_executor_stats", "", "EXECUTE_CODE", "x" * 300, None, 5]
FIELDS = ["code", "language", "timeout_seconds", "max_memory_mb", "max_output_size", "allow_network",
          "allow_filesystem", "environment_vars", "stdin_data", "dependencies", "limit", "offset", "status",
          "include_history", "priority", "args", "cpu_percent", "profile", "strict_mode", "authorized_imports", "bogus"]


def value(rng, depth=0):
    kind = rng.randrange(12)
    if kind == 0: return None
    if kind == 1: return rng.choice([True, False])
    if kind == 2: return rng.choice([0, -1, 1, 2**31, 2**63, -2**63, 10**30, 3, 100])
    if kind == 3: return rng.choice([0.5, -0.0, 1e308, -1e308, 1e-300, 2.5])
    if kind == 4: return rng.choice(["", "python", "bash", "javascript", "cobol", "\u0000", "a" * 5000, "print(1)", "🏻/..", "../../etc/passwd"])
    if kind == 5: return "".join(chr(rng.randrange(1, 0x2FFF)) for _ in range(rng.randrange(0, 40)))
    if kind == 6 and depth < 3: return [value(rng, depth + 1) for _ in range(rng.randrange(0, 5))]
    if kind == 7 and depth < 3: return {rng.choice(FIELDS): value(rng, depth + 1) for _ in range(rng.randrange(0, 5))}
    if kind == 8: return rng.choice(["LOW", "MEDIUM", "HIGH", "CRITICAL", "low", "urgent"])
    return rng.choice(["print('ok')", "echo ok", "console.log(1)", "import os\nos.system('id')"])


def message(rng):
    kind = rng.randrange(10)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200)))
    if kind == 1:
        return rng.choice([b"", b"null", b"[]", b"{}", b"\"task\"", b"{\"task_type\":", b"{" * 10000, b"[" * 600 + b"]" * 600])
    task = {}
    if rng.random() < 0.9: task["task_id"] = value(rng) if rng.random() < 0.2 else f"fuzz-{rng.randrange(10**6)}"
    if rng.random() < 0.95: task["task_type"] = rng.choice(TYPES)
    if rng.random() < 0.9:
        payload = {f: value(rng) for f in rng.sample(FIELDS, rng.randrange(0, 6))}
        if rng.random() < 0.5:
            payload.update({"code": rng.choice(["print(1)", "echo 1", "1+", ""]), "language": rng.choice(["python", "bash", "c"])})
        task["payload"] = payload if rng.random() < 0.9 else value(rng)
    if rng.random() < 0.5: task["priority"] = value(rng) if rng.random() < 0.3 else rng.choice(["LOW", "HIGH"])
    if rng.random() < 0.1: task[rng.choice(["extra", "metadata", "paylaod"])] = value(rng)
    return json.dumps(task).encode()


async def main():
    url = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 20261201)
    nc = await nats.connect(url)
    violations, statuses = [], {"success": 0, "error": 0}
    for i in range(count):
        data = message(rng)
        if len(data) > nc.max_payload:
            continue
        try:
            reply = await nc.request("agent.coding_agent.task", data, timeout=30)
        except Exception as exc:
            violations.append(f"#{i} {data[:120]!r}: {type(exc).__name__} {exc}")
            continue
        try:
            body = json.loads(reply.data)
        except ValueError:
            violations.append(f"#{i}: reply is not JSON: {reply.data[:200]!r}")
            continue
        status = body.get("status")
        if status == "success" and "result" in body:
            statuses["success"] += 1
        elif status == "error" and isinstance(body.get("error"), str) and body["error"]:
            statuses["error"] += 1
            code = (reply.headers or {}).get("Nats-Service-Error-Code")
            if code not in ("400", "413", "429"):
                violations.append(f"#{i} {data[:120]!r}: error code {code}: {body['error'][:200]}")
        else:
            violations.append(f"#{i} {data[:120]!r}: reply {json.dumps(body)[:200]}")
    good = await nc.request("agent.coding_agent.task", json.dumps(
        {"task_id": "after", "task_type": "execute_code", "payload": {"code": "print('alive')", "language": "python"}}).encode(), timeout=30)
    alive = json.loads(good.data).get("result", {}).get("stdout") == "alive\n"
    if not alive:
        violations.append(f"the service did not run a good task afterwards: {good.data[:300]!r}")
    await nc.close()
    for v in violations[:20]:
        print("VIOLATION", v)
    print(json.dumps({"sent": count, "statuses": statuses, "violations": len(violations), "alive": alive}))
    return 1 if violations else 0


sys.exit(asyncio.run(main()))
