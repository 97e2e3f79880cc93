"""Seed-000-shaped load on a Corral fleet over NATS, from nats-py (the seed's client).

Usage: fleet_load.py NATS_URL [--count N | --duration S] [--concurrency C] [--timeout T] [--attempts A]
                     [--kill-pid PID --kill-at K] [--prefix P] [--subject S]

Sends execute_code tasks (`print(<marker>)` in Python, each program distinct unless --repeat) with
concurrency C. A request that times out or finds no responder is retried (up to A attempts), as a
client of a fleet does when an instance dies. With --kill-pid, SIGKILLs that process once K
requests have been answered. Prints, last, one JSON object:
  {"sent", "ok", "failed", "retried", "errors", "execution_ids", "p50_ms", "seconds"}
where `ok` counts replies with status success and the right stdout, and `execution_ids` are the
acknowledged executions (to check against the history afterwards).
"""
import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import time

import nats


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--duration", type=float, default=0)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--attempts", type=int, default=3)
    ap.add_argument("--kill-pid", type=int, default=0)
    ap.add_argument("--kill-at", type=int, default=0)
    ap.add_argument("--prefix", default="load")
    ap.add_argument("--subject", default="agent.coding_agent.task")
    args = ap.parse_args()

    nc = await nats.connect(args.url, max_reconnect_attempts=-1)
    state = {"next": 0, "ok": 0, "failed": 0, "retried": 0, "answered": 0, "killed": False}
    errors, ids, latencies = [], [], []
    start = time.monotonic()

    def more():
        if args.count:
            return state["next"] < args.count
        return time.monotonic() - start < args.duration

    async def one(i):
        marker = f"{args.prefix}-{i}"
        task = {"task_id": marker, "task_type": "execute_code",
                "payload": {"code": f"print({marker!r})", "language": "python", "timeout_seconds": 10},
                "priority": "MEDIUM"}
        data = json.dumps(task).encode()
        for attempt in range(args.attempts):
            t0 = time.monotonic()
            try:
                msg = await nc.request(args.subject, data, timeout=args.timeout)
            except (nats.errors.TimeoutError, nats.errors.NoRespondersError) as exc:
                if attempt + 1 < args.attempts:
                    state["retried"] += 1
                    await asyncio.sleep(0.2)
                    continue
                return f"{marker}: {type(exc).__name__} after {args.attempts} attempts"
            latencies.append((time.monotonic() - t0) * 1000)
            reply = json.loads(msg.data)
            result = reply.get("result") or {}
            state["answered"] += 1
            if args.kill_pid and not state["killed"] and state["answered"] >= args.kill_at:
                state["killed"] = True
                os.kill(args.kill_pid, signal.SIGKILL)
            if reply.get("status") == "success" and result.get("status") == "success" and result.get("stdout") == marker + "\n":
                ids.append(result.get("execution_id"))
                return None
            if reply.get("status") == "error" and "queue" in str(reply.get("error")) and attempt + 1 < args.attempts:
                state["retried"] += 1
                await asyncio.sleep(0.5)
                continue
            return f"{marker}: {json.dumps(reply)[:300]}"
        return f"{marker}: no attempt left"

    async def worker():
        while more():
            i = state["next"]
            state["next"] += 1
            error = await one(i)
            if error is None:
                state["ok"] += 1
            else:
                state["failed"] += 1
                if len(errors) < 20:
                    errors.append(error)

    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    await nc.close()
    print(json.dumps({"sent": state["next"], "ok": state["ok"], "failed": state["failed"], "retried": state["retried"],
                      "errors": errors, "execution_ids": ids, "killed": state["killed"],
                      "p50_ms": statistics.median(latencies) if latencies else None,
                      "seconds": round(time.monotonic() - start, 2)}))
    return 0 if state["failed"] == 0 else 1


sys.exit(asyncio.run(main()))
