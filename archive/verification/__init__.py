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

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ledger import signing
from ledger.checkpoints import SignedCheckpoint

from ..blobs import blob_store
from ..models import Checkpoint
from ..services.checkpoints import witnesses
from .custody import Custody, WitnessView, check_presence, check_signature, report_unreachable
from .records import Walk, check_blobs, check_live_data
from .report import Problem, Report
from .runs import check_runs
from .runs import record_run as record_verification_run
from .walk import Pass, check_freshness, verified_checkpoint, walk_from, walk_records

__all__ = ["Problem", "Report", "verify_archive"]


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
    view = WitnessView.read(witnesses())
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        started = timezone.now()
        # Keys the caller holds are the whole ring: a verifier need not trust ours.
        keys = signing.key_ring(public_keys) if public_keys else signing.own_key_ring()
        grace_for_witnesses = timedelta(seconds=settings.EIM_ARCHIVE_WITNESS_GRACE)
        custody = Custody(view, now or started, grace_for_witnesses, keys)
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
    rows = {row.tree_size: row for row in Checkpoint.objects.defer("frontier")}
    sizes = sorted(set(rows) | custody.view.sizes())
    shared = Pass(custody, rows, sizes, trusted, progress)
    start = verified_checkpoint(shared, below=None) if incremental else None
    if start is None:
        walk = walk_from(None)
        walk_records(walk, shared, report, last_seq=None)
    else:
        walk = _incremental(start, shared, report)
    signed_at = {size: row.signed_at for size, row in rows.items()}
    check_presence(set(sizes) - shared.checked, signed_at, custody, report)
    rotation = None
    if start is not None:  # an incremental run re-hashes the older blobs on a rotation
        slots = max(1, settings.EIM_ARCHIVE_BLOB_ROTATION)
        rotation = (int(custody.now.timestamp() // 3600) % slots, slots)
    check_blobs(walk, blob_store(), report, rotation=rotation)
    # Live messages are matched with message.new records only by a walk from the first record.
    from_genesis = report.window is None or report.window == [1, report.from_seq - 1]
    check_live_data(walk, report, grace, 1 if from_genesis else report.from_seq)
    check_freshness(shared, report)
    if trusted is not None and report.tree_size < trusted.tree_size:
        report.add(
            "trusted",
            f"the archive ends at record {report.tree_size}, before the trusted checkpoint's "
            f"{trusted.tree_size} records",
            checkpoint=trusted.tree_size,
        )
    return report


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
