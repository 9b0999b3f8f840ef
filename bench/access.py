"""How fast access ends: from a deactivation's commit to the close of that person's open socket.

It prepares people with API tokens in a database of its own, starts one Daphne on PostgreSQL and
channels-redis, opens one socket per person (hello, sync), then deactivates them one after
another through `accounts.services.user_deactivate` (the service the command, the admin and the
console call) and times each socket's close (code 4403). Three runs by default; prints each
run's p50 / p99 / max and the median and spread across runs, and the CPU each deactivation
costs (this process, which runs the service, and Daphne, which closes the socket).

    .venv/bin/python bench/access.py                     # 100 people, 3 runs
    .venv/bin/python bench/access.py --people 300 --runs 5

Needs PostgreSQL and Redis on 127.0.0.1 (database `eim_bench_access`, Redis db 13).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chat import (
    database_ensure,
    django_setup,
    percentiles,
    server_environment,
    server_start,
    server_stop,
    server_wait_healthy,
    tokens_issue,
    users_ensure,
)

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/eim_bench_access"
REDIS_URL = "redis://127.0.0.1:6379/13"
CLOSE_ACCESS_ENDED = 4403
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    latencies_ms: list[float]
    codes: set[int | None]
    bench_cpu_ms: float
    daphne_cpu_ms: float


def options_parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100, help="sockets closed per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON summary")
    return parser.parse_args()


def people_prepare(count: int) -> list[tuple[Any, str]]:
    """Active people with a fresh token each. A reactivation between runs is set-up, not the
    measured path: a bulk update, so nothing is audited or closed by it."""
    from accounts.models import User

    users = users_ensure(prefix="access", count=count)
    User.objects.filter(pk__in=[u.pk for u in users]).update(is_active=True)
    for user in users:
        user.is_active = True
    return list(zip(users, tokens_issue(users), strict=True))


def process_cpu_ms(pid: int | None = None) -> float:
    if pid is None:
        times = os.times()
        return (times.user + times.system) * 1000
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / TICKS


async def socket_open(url: str, token: str) -> websockets.ClientConnection:
    ws = await websockets.connect(url, additional_headers={"Authorization": f"Bearer {token}"})
    await ws.recv()  # hello
    await ws.send(json.dumps({"type": "sync", "cursors": {}}))
    while json.loads(await ws.recv())["type"] != "sync.done":
        pass
    return ws


async def closed(ws: websockets.ClientConnection) -> int | None:
    try:
        while True:
            await ws.recv()
    except websockets.ConnectionClosed as closing:
        return closing.rcvd.code if closing.rcvd else None


async def run_once(url: str, people: list[tuple[Any, str]], daphne_pid: int) -> Run:
    from accounts.services import user_deactivate

    sockets = [await socket_open(url, token) for _, token in people]
    latencies, codes = [], set()
    bench_before, daphne_before = process_cpu_ms(), process_cpu_ms(daphne_pid)
    for (user, _), ws in zip(people, sockets, strict=True):
        waiting = asyncio.create_task(closed(ws))
        started = time.perf_counter()
        await asyncio.to_thread(user_deactivate, user=user, by=None)
        codes.add(await asyncio.wait_for(waiting, timeout=30))
        latencies.append((time.perf_counter() - started) * 1000)
    return Run(
        latencies_ms=latencies,
        codes=codes,
        bench_cpu_ms=(process_cpu_ms() - bench_before) / len(people),
        daphne_cpu_ms=(process_cpu_ms(daphne_pid) - daphne_before) / len(people),
    )


def spread(values: list[float]) -> float:
    """(max - min) / median, in %."""
    middle = statistics.median(values)
    return (max(values) - min(values)) / middle * 100 if middle else 0.0


def main() -> None:
    options = options_parse()
    database_ensure(DATABASE_URL, REDIS_URL)
    django_setup(DATABASE_URL, REDIS_URL)
    # One channel-layer prefix for this process (it sends the closes) and Daphne (it hears them).
    server = server_start(server_environment(DATABASE_URL, REDIS_URL, {}))
    runs: list[Run] = []
    try:
        server_wait_healthy(server)
        for _ in range(options.runs):
            people = people_prepare(options.people)
            runs.append(asyncio.run(run_once(server.url, people, server.process.pid)))
    finally:
        server_stop(server)
    report(runs, as_json=options.json)


def report(runs: list[Run], *, as_json: bool) -> None:
    summaries = [percentiles(run.latencies_ms) for run in runs]
    p50s, p99s = [s["p50"] for s in summaries], [s["p99"] for s in summaries]
    summary = {
        "runs": [
            {**s, "codes": sorted(c for c in run.codes if c is not None)}
            for s, run in zip(summaries, runs, strict=True)
        ],
        "p50_median_ms": statistics.median(p50s),
        "p50_spread_pct": spread(p50s),
        "p99_median_ms": statistics.median(p99s),
        "p99_spread_pct": spread(p99s),
        "cpu_ms_per_deactivation": {
            "service": statistics.median(r.bench_cpu_ms for r in runs),
            "daphne": statistics.median(r.daphne_cpu_ms for r in runs),
        },
    }
    if as_json:
        print(json.dumps(summary))
        return
    print(f"deactivation → socket closed, {len(runs[0].latencies_ms)} people a run")
    for i, (s, run) in enumerate(zip(summaries, runs, strict=True), 1):
        codes = ", ".join(str(c) for c in sorted(c for c in run.codes if c is not None))
        print(
            f"  run {i}: p50 {s['p50']:.1f} ms, p99 {s['p99']:.1f} ms, max {s['max']:.1f} ms; "
            f"close codes {codes}; CPU per deactivation: service {run.bench_cpu_ms:.1f} ms, "
            f"Daphne {run.daphne_cpu_ms:.1f} ms"
        )
    print(
        f"  median of runs: p50 {summary['p50_median_ms']:.1f} ms "
        f"(spread {summary['p50_spread_pct']:.0f} %), p99 {summary['p99_median_ms']:.1f} ms "
        f"(spread {summary['p99_spread_pct']:.0f} %)"
    )


if __name__ == "__main__":
    main()
