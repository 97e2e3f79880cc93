"""Checks the NATS service API (ADR-32) of a Corral fleet with nats-py, as NATS tooling sees it.

Usage: service_api_check.py NATS_URL EXPECTED_INSTANCES [SERVICE_NAME]

Sends $SRV.PING, $SRV.INFO and $SRV.STATS (and their .NAME and .NAME.ID forms), gathers every
reply for 0.5 s, and checks each reply's shape against ADR-32 (io.nats.micro.v1.*_response) and
that EXPECTED_INSTANCES distinct instances answered. Prints one line per check and, last, a JSON
object {"ids": [...], "stats": {id: {endpoint: num_requests}}}; exits 1 if any check failed.
"""
import asyncio
import json
import re
import sys

import nats

SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
NAME = re.compile(r"^[A-Za-z0-9_-]+$")
failures = []


def check(condition, what):
    print(("ok " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


async def gather(nc, subject, wait=0.5):
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    await nc.publish(subject, b"", reply=inbox)
    replies = []
    try:
        while True:
            msg = await sub.next_msg(timeout=wait)
            replies.append(json.loads(msg.data))
    except nats.errors.TimeoutError:
        pass
    await sub.unsubscribe()
    return replies


def common(reply, kind, name):
    check(reply.get("type") == f"io.nats.micro.v1.{kind}_response", f"{kind}: type is io.nats.micro.v1.{kind}_response")
    check(reply.get("name") == name and NAME.match(reply.get("name", "")), f"{kind}: name {reply.get('name')!r}")
    check(isinstance(reply.get("id"), str) and len(reply["id"]) >= 1, f"{kind}: id is a non-empty string")
    check(isinstance(reply.get("version"), str) and SEMVER.match(reply["version"]), f"{kind}: version {reply.get('version')!r} is semver")
    check(reply.get("metadata") is None or isinstance(reply.get("metadata"), dict), f"{kind}: metadata is an object or null")


async def main():
    url, expected = sys.argv[1], int(sys.argv[2])
    name = sys.argv[3] if len(sys.argv) > 3 else "coding_agent"
    nc = await nats.connect(url)
    pings = await gather(nc, "$SRV.PING")
    ids = sorted({p.get("id") for p in pings})
    check(len(pings) == expected and len(ids) == expected, f"$SRV.PING: {expected} instances answered (got {len(pings)}: {ids})")
    for p in pings:
        common(p, "ping", name)
    check(len(await gather(nc, f"$SRV.PING.{name}")) == expected, f"$SRV.PING.{name}: {expected} answers")
    for instance in ids:
        one = await gather(nc, f"$SRV.PING.{name}.{instance}")
        check(len(one) == 1 and one[0].get("id") == instance, f"$SRV.PING.{name}.{instance}: that instance only")
    infos = await gather(nc, f"$SRV.INFO.{name}")
    check(len(infos) == expected, f"$SRV.INFO.{name}: {expected} answers")
    for info in infos:
        common(info, "info", name)
        check(isinstance(info.get("description"), str), "info: description is a string")
        endpoints = info.get("endpoints") or []
        check({e.get("name") for e in endpoints} >= {"task", "status", "health"}, "info: endpoints task, status, health")
        for e in endpoints:
            check(isinstance(e.get("subject"), str) and e["subject"].startswith(f"agent.{name}."), f"info: endpoint {e.get('name')} subject {e.get('subject')!r}")
        task = [e for e in endpoints if e.get("name") == "task"]
        check(bool(task) and task[0].get("queue_group") == "corral", "info: the task endpoint's queue group is 'corral'")
    stats = {}
    for s in await gather(nc, "$SRV.STATS"):
        common(s, "stats", name)
        check(isinstance(s.get("started"), str) and "T" in s["started"], f"stats: started {s.get('started')!r} is RFC 3339")
        per = {}
        for e in s.get("endpoints") or []:
            for key in ("num_requests", "num_errors", "processing_time", "average_processing_time"):
                check(isinstance(e.get(key), int) and e[key] >= 0, f"stats: {e.get('name')}.{key} is a non-negative integer")
            check(isinstance(e.get("last_error"), str), f"stats: {e.get('name')}.last_error is a string")
            if e.get("num_requests", 0) > 0:
                check(e["average_processing_time"] == e["processing_time"] // e["num_requests"], f"stats: {e.get('name')} average = total / requests")
            per[e.get("name")] = e.get("num_requests")
        stats[s.get("id")] = per
    check(len(stats) == expected, f"$SRV.STATS: {expected} answers")
    await nc.close()
    print(json.dumps({"ids": ids, "stats": stats}))
    return 1 if failures else 0


sys.exit(asyncio.run(main()))
