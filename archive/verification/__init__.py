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
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from eim.chat import selectors as chat_selectors
from ledger import signing
from ledger.checkpoints import SignedCheckpoint
from ledger.merkle import MerkleAccumulator

from ..blobs import blob_store
from ..models import GENESIS_HASH, ArchiveRecord, Checkpoint
from ..services.checkpoints import frontier_from_json, signed_checkpoint, witnesses
from .custody import (
    Custody,
    WitnessView,
    check_presence,
    check_signature,
    copies_of,
    report_unreachable,
)
from .records import (
    Walk,
    check_against_outbox,
    check_blobs,
    check_live_data,
    check_record,
    note_references,
    outbox_read,
    records_from,
)
from .report import Problem, Report
from .runs import check_runs
from .runs import record_run as record_verification_run

__all__ = ["Problem", "Report", "verify_archive"]


@dataclass
class _Pass:
    """What the whole pass shares across its walks."""

    custody: Custody
    rows: dict[int, Checkpoint]
    sizes: list[int]
    trusted: SignedCheckpoint | None
    progress: Callable[[int], None] | None
    checked: set[int] = field(default_factory=set)


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
    shared = _Pass(custody, rows, sizes, trusted, progress)
    start = _verified_checkpoint(shared, below=None) if incremental else None
    if start is None:
        walk = _walk_from(None)
        _walk(walk, shared, report, last_seq=None)
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
    _check_freshness(shared, report)
    if trusted is not None and report.tree_size < trusted.tree_size:
        report.add(
            "trusted",
            f"the archive ends at record {report.tree_size}, before the trusted checkpoint's "
            f"{trusted.tree_size} records",
            checkpoint=trusted.tree_size,
        )
    return report


def _incremental(start: Checkpoint, shared: _Pass, report: Report) -> Walk:
    """The window of older records on this hour's rotation, then every record after `start`."""
    size = start.tree_size
    window = max(1, settings.EIM_ARCHIVE_VERIFY_WINDOW)
    slots = -(-size // window)
    first = int(shared.custody.now.timestamp() // 3600) % slots * window + 1
    last = min(first + window - 1, size)
    window_start = _verified_checkpoint(shared, below=first)
    walk = _walk_from(window_start)
    report.window = [walk.expected_seq, last]
    if last == size:  # the window reaches the starting checkpoint: one walk to the end
        _walk(walk, shared, report, last_seq=None)
    else:
        _walk(walk, shared, report, last_seq=last)
        older = walk
        walk = _walk_from(start)
        walk.created_messages, walk.blob_refs = older.created_messages, older.blob_refs
        _walk(walk, shared, report, last_seq=None)
    report.from_seq = size + 1
    return walk


def _verified_checkpoint(shared: _Pass, *, below: int | None) -> Checkpoint | None:
    """The newest checkpoint (below `below`) that every witness holds exactly as the database
    does, whose signature verifies and whose frontier gives its signed root."""
    view = shared.custody.view
    if not view.witnesses or view.unreachable:
        return None
    candidates = [s for s in reversed(shared.sizes) if below is None or s < below]
    for size in candidates[:10]:
        if size not in shared.rows:
            continue
        row = Checkpoint.objects.get(tree_size=size)
        ours = signed_checkpoint(row)
        accumulator = frontier_from_json(row.frontier)
        key = shared.custody.keys.get(row.key_id)
        if (
            all(view.copy(witness, size) == ours for witness in view.witnesses)
            and key is not None
            and signing.signature_valid(key, ours.statement(), row.signature)
            and (accumulator.size, accumulator.root().hex()) == (size, row.root_hash)
        ):
            return row
    return None


def _walk_from(checkpoint: Checkpoint | None) -> Walk:
    if checkpoint is None:
        return Walk(1, GENESIS_HASH, MerkleAccumulator())
    size = checkpoint.tree_size
    return Walk(
        size + 1,
        checkpoint.head_hash,
        frontier_from_json(checkpoint.frontier),
        matched_size=size,
        chain_size=size,
        chain_statement=signed_checkpoint(checkpoint).statement_hash(),
    )


def _walk(walk: Walk, shared: _Pass, report: Report, *, last_seq: int | None) -> None:
    """Records walk.expected_seq..last_seq (to the end when None), with the outbox and every
    checkpoint in that range."""
    first = walk.expected_seq
    pending = [s for s in shared.sizes if s >= first and (last_seq is None or s <= last_seq)]
    checkpoints = iter(pending)
    next_size = next(checkpoints, None)
    events = outbox_read(chat_selectors.archived_events_in_archive_order(from_seq=first), walk)
    event = next(events, None)
    for record in records_from(first, last_seq):
        seq = record["seq"]
        content = check_record(record, walk, report)
        while event is not None and event.archived_seq < seq:
            report.add(
                "completeness",
                f"outbox event {event.event_id} says it was archived here, "
                "but the record is missing",
                seq=event.archived_seq,
            )
            event = next(events, None)
        matching = event if event is not None and event.archived_seq == seq else None
        check_against_outbox(seq, content, matching, report)
        if matching is not None:
            event = next(events, None)
        note_references(content, seq, walk)
        # A checkpoint below this seq was never reached: the record at its size is missing.
        while next_size is not None and next_size < seq:
            _check_checkpoint(next_size, walk, shared, report, reached="missing")
            next_size = next(checkpoints, None)
        walk.accumulator.append(bytes.fromhex(record["hash"]))
        if shared.trusted is not None and shared.trusted.tree_size == seq:
            _check_trusted(shared.trusted, walk, report)
        if next_size == seq:
            _check_checkpoint(seq, walk, shared, report, reached="yes")
            next_size = next(checkpoints, None)
        report.records += 1
        report.tree_size = seq
        if shared.progress is not None:
            shared.progress(1)
    if last_seq is not None:
        return
    while event is not None:
        report.add(
            "completeness",
            f"outbox event {event.event_id} says it was archived, but the record is missing",
            seq=event.archived_seq,
        )
        event = next(events, None)
    while next_size is not None:
        _check_checkpoint(next_size, walk, shared, report, reached="beyond the end")
        next_size = next(checkpoints, None)


def _check_checkpoint(
    size: int, walk: Walk, shared: _Pass, report: Report, *, reached: str
) -> None:
    """`reached`: "yes" (the walk is at its size), "missing" (the record at its size is
    missing), or "beyond the end" of the archive."""
    copies = copies_of(size, shared.rows.get(size), shared.custody, report)
    shared.checked.add(size)
    signed = [copy for copy in copies if check_signature(copy, shared.custody.keys, report)]
    if reached == "yes":
        for root_hash, head_hash in dict.fromkeys((c.root_hash, c.head_hash) for c in copies):
            _check_root(size, root_hash, head_hash, walk, report)
    elif reached == "beyond the end":
        report.add(
            "checkpoint",
            f"signed over {size} records, but the archive ends at {report.tree_size}",
            checkpoint=size,
        )
    else:
        report.add(
            "checkpoint",
            f"record {size}, the last one this checkpoint signed, is missing",
            checkpoint=size,
            seq=size,
        )
    if copies:  # the chain goes through a copy whose signature verifies, if any does
        _check_chain((signed or copies)[0], walk, shared, report)
    report.checkpoints += 1


def _check_root(size: int, root_hash: str, head_hash: str, walk: Walk, report: Report) -> None:
    if walk.accumulator.root().hex() != root_hash:
        report.add(
            "checkpoint",
            f"records {walk.matched_size + 1}..{size} no longer match the signed Merkle "
            "root: a record in that range was changed and re-hashed",
            checkpoint=size,
            seq=size,
        )
    else:
        walk.matched_size = size
    if walk.prev_hash != head_hash:
        report.add(
            "checkpoint",
            "the record at this size is not the one that was signed",
            checkpoint=size,
            seq=size,
        )


def _check_chain(copy: SignedCheckpoint, walk: Walk, shared: _Pass, report: Report) -> None:
    """A v2 checkpoint names the one before it; v1 checkpoints predate the chain."""
    size = copy.tree_size
    if copy.version >= 2:
        if copy.prev_tree_size != walk.chain_size:
            held = copy.prev_tree_size in shared.sizes or copy.prev_tree_size == 0
            report.add(
                "checkpoint",
                f"chains to checkpoint {copy.prev_tree_size}, but the one before it is "
                f"{walk.chain_size or 'none'}"
                + ("" if held else f"; checkpoint {copy.prev_tree_size} is held nowhere"),
                checkpoint=size,
            )
        elif copy.prev_statement_hash != walk.chain_statement:
            report.add(
                "checkpoint",
                f"chains to another checkpoint {walk.chain_size} than the one signed",
                checkpoint=size,
            )
    walk.chain_size, walk.chain_statement = size, copy.statement_hash()


def _check_trusted(trusted: SignedCheckpoint, walk: Walk, report: Report) -> None:
    size = trusted.tree_size
    if walk.accumulator.root().hex() != trusted.root_hash:
        report.add(
            "trusted",
            f"records 1..{size} do not hash to the trusted checkpoint's root: the archive "
            f"still matches its signed checkpoint {walk.matched_size or 'none'}, so a record "
            f"in {walk.matched_size + 1}..{size} differs from what was trusted",
            checkpoint=size,
            seq=size,
        )
    if walk.prev_hash != trusted.head_hash:
        report.add(
            "trusted",
            f"record {size} is not the one the trusted checkpoint signed",
            checkpoint=size,
            seq=size,
        )


def _check_freshness(shared: _Pass, report: Report) -> None:
    """Records must not wait longer than EIM_ARCHIVE_CHECKPOINT_MAX_AGE for a checkpoint."""
    newest = shared.sizes[-1] if shared.sizes else 0
    if report.tree_size <= newest:
        return
    archived_at = (
        ArchiveRecord.objects.filter(seq=newest + 1).values_list("archived_at", flat=True).first()
    )
    now = shared.custody.now
    bound = timedelta(seconds=settings.EIM_ARCHIVE_CHECKPOINT_MAX_AGE)
    if archived_at is None or now - archived_at <= bound:
        return
    row = shared.rows.get(newest)
    signed = f"signed {_age(now - row.signed_at)} ago" if row is not None else "in no witness"
    report.add(
        "freshness",
        f"records {newest + 1}..{report.tree_size} have no checkpoint: record {newest + 1} has "
        f"waited {_age(now - archived_at)} (bound {_age(bound)}); the newest checkpoint, "
        f"{newest or 'none'}, was {signed}",
        checkpoint=newest or None,
        seq=newest + 1,
    )


def _age(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours) + [f"{minutes} min"]
    return " ".join(parts)
