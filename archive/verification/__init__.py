"""Verifying the archive: chain, checkpoints and their witnesses, blobs, completeness.

One streaming pass over the records in seq order, merged with the outbox in archive order, so
memory stays small. Every checkpoint, in the database or in a witness, is recomputed from the
records, its signature checked with public keys only, and its chain to the one before
followed. Every problem names where it is (sequence number, checkpoint, blob).

An incremental run trusts no row: it starts from the newest checkpoint that every witness
holds exactly as the database does, whose signature verifies and whose stored frontier gives
its signed root. It then re-verifies a window of the older records (a different one each
hour, EIM_ARCHIVE_VERIFY_WINDOW records, so the whole history is covered in turn) and every
record after the starting checkpoint. Attachments are re-hashed on a rotation too: those
archived after the starting checkpoint, and the older ones whose name falls in this hour's slot
of EIM_ARCHIVE_BLOB_ROTATION (default 168: each blob once a week). A full run re-hashes all.
"""

import hashlib
import itertools
import json
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ledger import merkle, signing
from ledger.canonical import canonical_json
from ledger.checkpoints import SignedCheckpoint

from ..blobs import blob_store
from ..models import ArchiveRecord, Checkpoint, VerificationStep
from ..services.checkpoints import LEDGER, witnesses
from .custody import Custody, WitnessView, check_presence, check_signature, report_unreachable
from .records import Walk, check_blobs, check_live_data
from .report import Problem, Report
from .runs import check_runs
from .runs import record_run as record_verification_run
from .walk import Pass, check_freshness, verified_checkpoint, walk_from, walk_records

__all__ = ["Problem", "Report", "verify_archive", "verify_archive_in_steps"]


@contextmanager
def _snapshot() -> Iterator[None]:
    """A transaction; REPEATABLE READ (one snapshot) when it is the outermost one."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield


def _custody(view: WitnessView, keys: signing.KeyRing, now: datetime) -> Custody:
    return Custody(view, now, timedelta(seconds=settings.EIM_ARCHIVE_WITNESS_GRACE), keys)


def _pass(custody: Custody, progress: Callable[[int], None] | None, **kwargs: Any) -> Pass:
    rows = {row.tree_size: row for row in Checkpoint.objects.defer("frontier")}
    sizes = sorted(set(rows) | custody.view.sizes())
    return Pass(custody, rows, sizes, kwargs.pop("trusted", None), progress, **kwargs)


def verify_archive(
    *,
    public_keys: Sequence[Ed25519PublicKey] | None = None,
    incremental: bool = False,
    grace: timedelta = timedelta(minutes=2),
    progress: Callable[[int], None] | None = None,
    record_run: bool = True,
    trusted: SignedCheckpoint | None = None,
    now: datetime | None = None,
) -> Report:
    """Verify in one snapshot, so records and outbox rows archived meanwhile cannot look
    like missing ones. The witnesses are listed before the snapshot is taken."""
    view = WitnessView.read(witnesses(), ledger=LEDGER)
    # Keys the caller holds are the whole ring: a verifier need not trust ours.
    keys = signing.key_ring(public_keys) if public_keys else signing.own_key_ring()
    with _snapshot():
        started = timezone.now()
        custody = _custody(view, keys, now or started)
        report = _verify(custody, incremental and trusted is None, grace, progress, trusted)
        check_runs(report)
        if record_run:
            record_verification_run(report, started=started, incremental=incremental)
    return report


def _verify(
    custody: Custody,
    incremental: bool,
    grace: timedelta,
    progress: Callable[[int], None] | None,
    trusted: SignedCheckpoint | None,
) -> Report:
    report = Report()
    report_unreachable(custody, report)
    if trusted is not None:
        check_signature(trusted, custody.keys, report)
    shared = _pass(custody, progress, trusted=trusted)
    start = verified_checkpoint(shared, below=None) if incremental else None
    if start is None:
        walk = walk_from(None)
        walk_records(walk, shared, report, last_seq=None)
    else:
        walk = _incremental(start, shared, report)
    rotation = None
    if start is not None:  # an incremental run re-hashes the older blobs on a rotation
        slots = max(1, settings.EIM_ARCHIVE_BLOB_ROTATION)
        rotation = (int(custody.now.timestamp() // 3600) % slots, slots)
    # Live messages are matched with message.new records only by a walk from the first record.
    from_genesis = report.window is None or report.window == [1, report.from_seq - 1]
    _finish(walk, shared, report, grace, rotation=rotation, from_genesis=from_genesis)
    return report


def _finish(
    walk: Walk,
    shared: Pass,
    report: Report,
    grace: timedelta,
    *,
    rotation: tuple[int, int] | None,
    from_genesis: bool,
) -> None:
    """The checks after the walk: presence of the checkpoints it did not pass, blobs, live
    data, freshness, and the end of a trusted checkpoint."""
    signed_at = {size: row.signed_at for size, row in shared.rows.items()}
    check_presence(set(shared.sizes) - shared.checked, signed_at, shared.custody, report)
    check_blobs(walk, blob_store(), report, rotation=rotation)
    check_live_data(walk, report, grace, 1 if from_genesis else report.from_seq)
    check_freshness(shared, report)
    trusted = shared.trusted
    if trusted is not None and report.tree_size < trusted.tree_size:
        report.add(
            "trusted",
            f"the archive ends at record {report.tree_size}, before the trusted checkpoint's "
            f"{trusted.tree_size} records",
            checkpoint=trusted.tree_size,
        )
    elif trusted is not None and not any(p.kind == "trusted" for p in report.problems):
        newest = shared.rows.get(walk.matched_size)
        if newest is not None and newest.tree_size >= trusted.tree_size:
            _prove_extension(trusted, newest, report)


def _prove_extension(trusted: SignedCheckpoint, newest: Checkpoint, report: Report) -> None:
    """The RFC 9162 consistency proof from the trusted checkpoint to our newest one that the
    walk verified, checked as its holder would check it."""
    hashes = (
        ArchiveRecord.objects.filter(seq__lte=newest.tree_size)
        .order_by("seq")
        .values_list("hash", flat=True)
        .iterator(chunk_size=10000)
    )
    leaves = [bytes.fromhex(h) for h in hashes]
    path = merkle.consistency_proof(leaves, trusted.tree_size)
    old_root, new_root = bytes.fromhex(trusted.root_hash), bytes.fromhex(newest.root_hash)
    if not merkle.verify_consistency(trusted.tree_size, newest.tree_size, old_root, new_root, path):
        report.add(
            "trusted",
            f"no consistency proof from the trusted checkpoint to checkpoint {newest.tree_size} "
            "verifies",
            checkpoint=trusted.tree_size,
        )
        return
    report.trusted = {
        "tree_size": trusted.tree_size,
        "extended_by": newest.tree_size,
        "root_hash": newest.root_hash,
        "consistency_proof": [node.hex() for node in path],
    }


def _incremental(start: Checkpoint, shared: Pass, report: Report) -> Walk:
    """The window of older records on this hour's rotation, then every record after `start`."""
    size = start.tree_size
    window = max(1, settings.EIM_ARCHIVE_VERIFY_WINDOW)
    slots = -(-size // window)
    first = int(shared.custody.now.timestamp() // 3600) % slots * window + 1
    last = min(first + window - 1, size)
    window_start = verified_checkpoint(shared, below=first)
    walk = walk_from(window_start)
    report.window = [walk.expected_seq, last]
    if last == size:  # the window reaches the starting checkpoint: one walk to the end
        walk_records(walk, shared, report, last_seq=None)
    else:
        walk_records(walk, shared, report, last_seq=last)
        older = walk
        walk = walk_from(start)
        walk.blob_refs = older.blob_refs
        walk_records(walk, shared, report, last_seq=None)
    report.from_seq = size + 1
    return walk


# --- A full run in steps ---------------------------------------------------------------------


def verify_archive_in_steps(
    *,
    step_records: int | None = None,
    public_keys: Sequence[Ed25519PublicKey] | None = None,
    grace: timedelta = timedelta(minutes=2),
    progress: Callable[[int], None] | None = None,
    now: datetime | None = None,
    max_steps: int | None = None,
) -> Report:
    """A full verification that commits its progress every `step_records` records (at the next
    checkpoint every witness holds), each step in a snapshot of its own, and resumes an
    unfinished run: from the last step's checkpoint once it verifies against the witnesses.
    With `max_steps`, it stops after that many steps (the report so far); the next call
    resumes."""
    step_records = step_records or settings.EIM_ARCHIVE_VERIFY_STEP
    view = WitnessView.read(witnesses(), ledger=LEDGER)
    keys = signing.key_ring(public_keys) if public_keys else signing.own_key_ring()
    started = timezone.now()
    checked: set[int] = set()
    run_key, walk, report, step = _resume(view, keys, now or started, checked)
    while True:
        with _snapshot():
            custody = _custody(view, keys, now or timezone.now())
            shared = _pass(custody, progress, checked=checked)
            end = _step_end(shared, walk.expected_seq - 1 + step_records)
            first, before = walk.expected_seq, _counts(report)
            walk_records(walk, shared, report, last_seq=end)
            if end is None:
                _finish(walk, shared, report, grace, rotation=None, from_genesis=True)
                check_runs(report)
            saved = _save_step(run_key, step, first, report, before, final=end is None)
            if end is None:
                record_verification_run(report, started=started, incremental=False)
        _remember(saved)
        if end is None:
            return report
        step += 1
        if max_steps is not None:
            max_steps -= 1
            if max_steps <= 0:
                return report


def _counts(report: Report) -> tuple[int, int, int]:
    return len(report.problems), report.records, report.checkpoints


def _step_end(shared: Pass, at_least: int) -> int | None:
    """The first checkpoint from `at_least` records on that the database and every witness
    hold; None: the step runs to the end."""
    for size in shared.sizes:
        listed = all(
            size in shared.custody.view.listed[w.name] for w in shared.custody.view.witnesses
        )
        if size >= at_least and size in shared.rows and listed:
            return size
    return None


def _save_step(
    run_key: uuid.UUID,
    step: int,
    first: int,
    report: Report,
    before: tuple[int, int, int],
    *,
    final: bool,
) -> VerificationStep:
    problems, records, checkpoints = before
    saved = VerificationStep(
        run_key=run_key,
        step=step,
        from_seq=first,
        to_seq=report.tree_size,
        records=report.records - records,
        checkpoints=report.checkpoints - checkpoints,
        problems=[asdict(problem) for problem in report.problems[problems:]],
        final=final,
        committed_at=timezone.now(),
    )
    saved.save()
    return saved


def _resume(
    view: WitnessView, keys: signing.KeyRing, now: datetime, checked: set[int]
) -> tuple[uuid.UUID, Walk, Report, int]:
    """The unfinished run's steps, as far as this host's own record of them (a file outside
    the database) agrees with the rows, up to a checkpoint verified again now; or a new run."""
    report = Report()
    last = VerificationStep.objects.order_by("-pk").first()
    fresh = (uuid.uuid4(), walk_from(None), report, 0)
    if last is None or last.final:
        return fresh
    remembered = _remembered(last.run_key)
    steps = list(VerificationStep.objects.filter(run_key=last.run_key).order_by("step"))
    by_digest = {_digest(step): step for step in steps}
    agreed = [by_digest[d] for d in itertools.takewhile(by_digest.__contains__, remembered)]
    if not agreed:
        return fresh
    with _snapshot():
        shared = _pass(_custody(view, keys, now), None)
        start = verified_checkpoint(shared, below=agreed[-1].to_seq + 1)
    kept = [step for step in agreed if start is not None and step.to_seq <= start.tree_size]
    if start is None or not kept or kept[-1].to_seq != start.tree_size:
        return fresh
    for step in kept:
        report.problems += [Problem(**problem) for problem in step.problems]
        report.records += step.records
        report.checkpoints += step.checkpoints
    report.tree_size = start.tree_size
    checked.update(size for size in shared.sizes if size <= start.tree_size)
    _write_state(last.run_key, [_digest(step) for step in kept])
    return last.run_key, walk_from(start), report, steps[-1].step + 1


def _digest(step: VerificationStep) -> str:
    content = {
        "run_key": str(step.run_key),
        "step": step.step,
        "from_seq": step.from_seq,
        "to_seq": step.to_seq,
        "records": step.records,
        "checkpoints": step.checkpoints,
        "problems": step.problems,
    }
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()


def _remembered(run_key: uuid.UUID) -> list[str]:
    """This host's record of the run's steps: a forged step row in the database (a run that
    claims records were verified clean) is not resumed from."""
    try:
        state = json.loads(Path(settings.EIM_ARCHIVE_VERIFY_STATE).read_text())
    except (OSError, ValueError):
        return []
    return list(state.get("steps", [])) if state.get("run_key") == str(run_key) else []


def _remember(step: VerificationStep) -> None:
    steps = _remembered(step.run_key) if step.step else []
    _write_state(step.run_key, [*steps, _digest(step)])


def _write_state(run_key: uuid.UUID, digests: list[str]) -> None:
    path = Path(settings.EIM_ARCHIVE_VERIFY_STATE)
    state = {"run_key": str(run_key), "steps": digests}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w") as out:
        out.write(json.dumps(state))
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
