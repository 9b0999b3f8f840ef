"""The walk: records in seq order, merged with the outbox, through every checkpoint in range."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings

from eim.chat import selectors as chat_selectors
from ledger import signing
from ledger.checkpoints import SignedCheckpoint
from ledger.custody import age_text, check_chain_link
from ledger.merkle import MerkleAccumulator

from ..models import GENESIS_HASH, ArchiveRecord, Checkpoint
from ..services.checkpoints import frontier_from_json, signed_checkpoint
from .custody import Custody, check_signature, copies_of
from .records import (
    Walk,
    check_against_outbox,
    check_record,
    note_references,
    outbox_read,
    records_from,
)
from .report import Report


@dataclass
class Pass:
    """What the whole pass shares across its walks."""

    custody: Custody
    rows: dict[int, Checkpoint]
    sizes: list[int]
    trusted: SignedCheckpoint | None
    progress: Callable[[int], None] | None
    checked: set[int] = field(default_factory=set)


def verified_checkpoint(shared: Pass, *, below: int | None) -> Checkpoint | None:
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


def walk_from(checkpoint: Checkpoint | None) -> Walk:
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


def walk_records(walk: Walk, shared: Pass, report: Report, *, last_seq: int | None) -> None:
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
            check_checkpoint_at(next_size, walk, shared, report, reached="missing")
            next_size = next(checkpoints, None)
        walk.accumulator.append(bytes.fromhex(record["hash"]))
        if shared.trusted is not None and shared.trusted.tree_size == seq:
            _check_trusted(shared.trusted, walk, report)
        if next_size == seq:
            check_checkpoint_at(seq, walk, shared, report, reached="yes")
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
        check_checkpoint_at(next_size, walk, shared, report, reached="beyond the end")
        next_size = next(checkpoints, None)


def check_checkpoint_at(
    size: int, walk: Walk, shared: Pass, report: Report, *, reached: str
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


def _check_chain(copy: SignedCheckpoint, walk: Walk, shared: Pass, report: Report) -> None:
    """A v2 checkpoint names the one before it; v1 checkpoints predate the chain."""
    if copy.version >= 2:
        check_chain_link(
            copy,
            prev_size=walk.chain_size,
            prev_statement=walk.chain_statement,
            held=shared.sizes.__contains__,
            report=report,
        )
    walk.chain_size, walk.chain_statement = copy.tree_size, copy.statement_hash()


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


def check_freshness(shared: Pass, report: Report) -> None:
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
    signed = f"signed {age_text(now - row.signed_at)} ago" if row is not None else "in no witness"
    report.add(
        "freshness",
        f"records {newest + 1}..{report.tree_size} have no checkpoint: record {newest + 1} has "
        f"waited {age_text(now - archived_at)} (bound {age_text(bound)}); the newest checkpoint, "
        f"{newest or 'none'}, was {signed}",
        checkpoint=newest or None,
        seq=newest + 1,
    )
