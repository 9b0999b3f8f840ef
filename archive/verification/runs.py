"""Verification runs: append-only (triggers, migration archive/0006) and hash-chained like the
records, so that a run cannot be removed or changed unseen. No run is ever trusted as a
starting point: an incremental run starts from a checkpoint it verified itself."""

from datetime import datetime

from django.db import connection
from django.utils import timezone

from ledger.canonical import canonical_json, chain_hash

from ..models import GENESIS_HASH, VerificationRun
from .report import Report

# pg_advisory_xact_lock key: runs are chained one after another.
RUN_LOCK = 0x4549_4D56_5246  # "EIMVRF"


def run_content(run: VerificationRun) -> str:
    return canonical_json(
        {
            "started_at": run.started_at.isoformat(),
            "finished_at": run.finished_at.isoformat(),
            "incremental": run.incremental,
            "from_seq": run.from_seq,
            "verified_tree_size": run.verified_tree_size,
            "problem_count": run.problem_count,
        }
    )


def record_run(report: Report, *, started: datetime, incremental: bool) -> VerificationRun:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [RUN_LOCK])
    last = VerificationRun.objects.order_by("-pk").values_list("hash", flat=True).first()
    run = VerificationRun(
        started_at=started,
        finished_at=timezone.now(),
        incremental=incremental,
        from_seq=report.from_seq,
        verified_tree_size=report.tree_size,
        problem_count=len(report.problems),
        prev_hash=last or GENESIS_HASH,
    )
    run.hash = chain_hash(run.prev_hash, run_content(run))
    run.save()
    return run


def check_runs(report: Report) -> None:
    """Each run's hash covers its content and the run before it."""
    prev_hash = GENESIS_HASH
    for run in VerificationRun.objects.order_by("pk").iterator(chunk_size=2000):
        if run.prev_hash != prev_hash:
            report.add("run", f"verification run {run.pk} does not chain to the run before it")
        if chain_hash(run.prev_hash, run_content(run)) != run.hash:
            report.add("run", f"verification run {run.pk} does not hash to its stored hash")
        prev_hash = run.hash
