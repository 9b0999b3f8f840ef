"""Scan lag after archiving: real sends at --rate msg/s, real Celery workers, the time from a
record's archive commit to its scan commit (its flags written).

The harness is bench/archive.py's (its own redis-server, its database, `message_send` from
producer processes on an open-loop schedule, the production worker layout: archive workers
plus one default-queue worker, which runs the scanning stage, and beat). The policy set is
bench/scan.py's (1,000 terms, 10 patterns, every detector) plus phrases that hit about 2 %
of the sent messages, made through `policy_create` as an officer makes it. Two watchers
(bench/archive.py's HeadWatcher) poll every 10 ms: the archive head (when each record's
archive commit became visible) and the scan state (when its scan commit, flags and review
items with it, became visible).
Lag = scanned - archived, per `message.new` record. Three runs; median and spread of p50
and p99, the CPU of each component, and the load average.

    .venv/bin/python bench/scan_lag.py                     # 100 msg/s, 30 s, 3 runs
    .venv/bin/python bench/scan_lag.py --rate 200 --duration 20 --runs 1
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import signal
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/eim_scanperf_bench"
LAG_TARGET_P99 = 1.0  # seconds


def harness() -> ModuleType:
    """bench/archive.py, loaded under another name (the `archive` app owns that one)."""
    spec = importlib.util.spec_from_file_location("archive_bench", ROOT / "bench" / "archive.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["archive_bench"] = module
    spec.loader.exec_module(module)
    module.LOG_DIR = ROOT / "var" / "bench" / "scan"
    return module


# At import: the producer processes are spawned, and they unpickle archive_bench's producer
# function after importing this script, which loads it here.
BENCH = harness()


def scan_harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("scan_bench", ROOT / "bench" / "scan.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def policies_ensure() -> None:
    """The bench policy, once per database: 1,000 terms + 10 patterns + the detectors, and
    phrases that hit the bench body's "desk N" for a few N."""
    from accounts.models import Role, RoleGrant, User
    from compliance.scanning.models import Policy
    from compliance.scanning.services import policy_create

    if Policy.objects.filter(name="bench scan").exists():
        return
    officer = User.objects.get_or_create(username="scanbench-officer")[0]
    RoleGrant.objects.get_or_create(user=officer, role=Role.COMPLIANCE_OFFICER)
    scan = scan_harness()
    terms = scan.vocabulary(random.Random(12), 1000)
    hitting = [f"desk {n}" for n in range(7, 400, 50)]
    policy_create(
        user=officer,
        name="bench scan",
        actions=["flag"],
        conditions={
            "lexicons": [{"name": "terms", "terms": terms + hitting}],
            "patterns": [{"name": name, "regex": regex} for regex, name in scan.PATTERNS],
            "detectors": list(scan.DETECTORS),
        },
    )


def scanned_seq() -> int:
    from compliance.scanning.models import ScanState

    return ScanState.objects.filter(pk=1).values_list("last_seq", flat=True).first() or 0


def wait_scanned(bench: ModuleType, timeout: float) -> float:
    started = time.monotonic()
    while scanned_seq() < bench.head_seq() or bench.pending_count():
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"scanning still behind after {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - started


def settle(bench: ModuleType, env: dict[str, str], options: argparse.Namespace) -> None:
    """Archive, index and scan whatever an earlier run left, so a run starts caught up."""
    from archive.tasks import archive_pending_task
    from compliance.scanning.tasks import scan_records_task

    bench.vacuum()
    with bench.celery_running(env, 1, 2, beat=True, tag="settle", shared_queue=False):
        archive_pending_task.delay()
        scan_records_task.delay(0, 0)
        bench.wait_drained(timeout=300)
        wait_scanned(bench, timeout=900)
    bench.vacuum()


def lag_run(
    bench: ModuleType, env: dict[str, str], options: argparse.Namespace, senders: list[object]
) -> dict[str, object]:
    from compliance.scanning.models import Flag

    plan = argparse.Namespace(rate=options.rate, duration=options.duration, producers=2, threads=4)
    warm_up = argparse.Namespace(rate=10.0, duration=2.0, producers=2, threads=4)
    with bench.celery_running(env, 1, 2, beat=True, tag="scanlag", shared_queue=False):
        # A fresh worker compiles the policy set at its first batch (seconds, as after a
        # policy change): the run measures the steady state after that.
        started = time.monotonic()
        bench.producers_run(warm_up, env, senders)
        wait_scanned(bench, timeout=300)
        warm_up_s = time.monotonic() - started
        before, flags_before = bench.head_seq(), Flag.objects.count()
        with bench.HeadWatcher() as archived, bench.HeadWatcher(scanned_seq) as scanned:
            cpu_before = bench.cpu_snapshot()
            result, wall = bench.producers_run(plan, env, senders)
            bench.wait_drained(timeout=300)
            wait_scanned(bench, timeout=300)
            cpu_after = bench.cpu_snapshot()
            time.sleep(0.05)
    cpu = bench.cpu_use(cpu_before, cpu_after, urlsplit(options.database_url).path[1:])
    window = cpu_after.at - cpu_before.at
    stats = bench.percentiles(lags_of(before, archived, scanned))
    return {
        "sent": result.sent,
        "errors": dict(result.errors),
        "achieved_msg_s": round(result.sent / wall, 1),
        "flags": Flag.objects.count() - flags_before,
        "lag_p50_ms": round(stats["p50"] * 1000),
        "lag_p99_ms": round(stats["p99"] * 1000),
        "lag_max_ms": round(stats["max"] * 1000),
        "warm_up_s": round(warm_up_s, 1),
        # the default-queue worker runs the scanning stage (and search indexing)
        "default_worker_cpu_ms_per_msg": round(
            cpu.get("default worker", 0.0) / 100 * window * 1000 / max(result.sent, 1), 2
        ),
        "cpu_pct_of_core": cpu,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def lags_of(before: int, archived: Any, scanned: Any) -> list[float]:
    """Per message.new record archived after `before`: scan commit - archive commit."""
    from archive.models import ArchiveRecord

    seqs = ArchiveRecord.objects.filter(seq__gt=before, event_type="message.new").values_list(
        "seq", flat=True
    )
    lags = []
    for seq in seqs:
        archived_at, scanned_at = archived.visible_at(seq), scanned.visible_at(seq)
        if archived_at is not None and scanned_at is not None:
            lags.append(max(scanned_at - archived_at, 0.0))
    return lags


def spread(values: list[float]) -> float:
    middle = statistics.median(values)
    return round((max(values) - min(values)) / middle * 100, 1) if middle else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", default=DATABASE_URL)
    options = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the workers on SIGTERM too
    bench = BENCH
    bench.LOG_DIR.mkdir(parents=True, exist_ok=True)
    with bench.redis_running() as redis_url:
        archive_options = bench.options_parse(["--database-url", options.database_url])
        env = {**bench.environment(archive_options, redis_url), "EIM_LOG_LEVEL": "WARNING"}
        bench.database_ensure(options.database_url, env, fresh=False)
        bench.django_setup(env)
        policies_ensure()
        senders = bench.senders_ensure(8)
        runs = []
        for n in range(options.runs):
            settle(bench, env, options)
            runs.append(lag_run(bench, env, options, senders))
            print(f"run {n + 1}: {runs[-1]}", flush=True)
    p50 = [float(r["lag_p50_ms"]) for r in runs]  # type: ignore[arg-type]
    p99 = [float(r["lag_p99_ms"]) for r in runs]  # type: ignore[arg-type]
    cpu = [float(r["default_worker_cpu_ms_per_msg"]) for r in runs]  # type: ignore[arg-type]
    print(
        f"scan lag at {options.rate:g} msg/s (archive commit -> flags written), {len(runs)} runs:"
        f" p50 median {statistics.median(p50):.0f} ms (spread {spread(p50)}%),"
        f" p99 median {statistics.median(p99):.0f} ms (spread {spread(p99)}%;"
        f" target {LAG_TARGET_P99 * 1000:.0f} ms); default worker"
        f" {statistics.median(cpu)} ms CPU per message; load {os.getloadavg()}"
    )


if __name__ == "__main__":
    main()
