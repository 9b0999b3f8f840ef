"""Verifying the whole archive: chain, checkpoints, blobs, and completeness against live data.

One streaming pass over the records in seq order, merged with the outbox in archive order, so
memory stays small. Every problem names where it is (sequence number, checkpoint, blob).
"""

import itertools
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import connection, transaction
from django.utils import timezone

from eim.chat import selectors as chat_selectors
from eim.chat.models import ConversationEvent
from ledger import signing
from ledger.canonical import chain_hash
from ledger.merkle import MerkleAccumulator

from .blobs import BlobStore, blob_store, hash_stream
from .models import GENESIS_HASH, ArchiveBlob, ArchiveRecord, Checkpoint, VerificationRun
from .services.archiving import record_content
from .services.checkpoints import checkpoint_statement, frontier_from_json

COLUMNS = (
    "seq",
    "event_id",
    "event_type",
    "conversation_id",
    "message_id",
    "original_seq",
    "actor_id",
    "occurred_at",
    "archived_at",
    "canonical",
    "prev_hash",
    "hash",
)
CANONICAL_OF_COLUMN = {"event_type": "type", "conversation_id": "conversation", "actor_id": "actor"}
# Pending events read when looking for the record of a live message; a backlog past this is
# reported by the grace check anyway.
PENDING_SCAN_LIMIT = 100_000
OUTBOX_FIELDS = (
    "event_id",
    "type",
    "conversation",
    "conversation_seq",
    "actor",
    "occurred_at",
    "audience",
    "payload",
)


@dataclass
class Problem:
    kind: str
    detail: str
    seq: int | None = None
    checkpoint: int | None = None
    blob: str | None = None


@dataclass
class Report:
    from_seq: int = 1
    records: int = 0
    checkpoints: int = 0
    blobs: int = 0
    pending: int = 0
    tree_size: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


@dataclass
class _Walk:
    """State carried from one record to the next."""

    expected_seq: int
    prev_hash: str
    accumulator: MerkleAccumulator
    created_messages: set[int] = field(default_factory=set)
    blob_refs: dict[str, int] = field(default_factory=dict)
    # The size of the last checkpoint whose root matched: a later mismatch lies after it.
    matched_size: int = 0
    # The archived_seq of the last outbox event read: the outbox as the walk saw it.
    outbox_seq: int = 0


def _records(from_seq: int) -> Iterator[dict[str, Any]]:
    rows = ArchiveRecord.objects.filter(seq__gte=from_seq).order_by("seq").values_list(*COLUMNS)
    for row in rows.iterator(chunk_size=5000):
        yield dict(zip(COLUMNS, row, strict=True))


def _check_columns(record: dict[str, Any], content: dict[str, Any], report: Report) -> None:
    seq = record["seq"]
    for column in (
        "seq",
        "event_id",
        "event_type",
        "conversation_id",
        "message_id",
        "original_seq",
        "actor_id",
    ):
        stored = record[column]
        stored = str(stored) if column == "event_id" else stored
        if content.get(CANONICAL_OF_COLUMN.get(column, column)) != stored:
            report.problems.append(
                Problem(
                    "content",
                    f"column {column} ({stored}) differs from the hashed content",
                    seq=seq,
                )
            )
    for column in ("occurred_at", "archived_at"):
        if content.get(column) != record[column].isoformat():
            report.problems.append(
                Problem(
                    "content",
                    f"{column} {record[column].isoformat()} differs from the hashed "
                    f"{content.get(column)}",
                    seq=seq,
                )
            )


def _check_record(record: dict[str, Any], walk: _Walk, report: Report) -> dict[str, Any]:
    seq = record["seq"]
    if seq != walk.expected_seq:
        missing = (
            f"record {walk.expected_seq} is"
            if seq == walk.expected_seq + 1
            else f"records {walk.expected_seq}..{seq - 1} are"
        )
        report.problems.append(Problem("gap", f"{missing} missing", seq=walk.expected_seq))
    if record["prev_hash"] != walk.prev_hash:
        report.problems.append(
            Problem("chain", "prev_hash does not match the hash of the record before it", seq=seq)
        )
    if chain_hash(record["prev_hash"], record["canonical"]) != record["hash"]:
        report.problems.append(
            Problem(
                "hash", "the record's content does not hash to its stored hash (altered)", seq=seq
            )
        )
    try:
        content = json.loads(record["canonical"])
    except ValueError:
        report.problems.append(Problem("content", "the record is not valid JSON", seq=seq))
        content = {}
    _check_columns(record, content, report)
    walk.expected_seq = seq + 1
    walk.prev_hash = record["hash"]
    return content


def _check_against_outbox(
    seq: int, content: dict[str, Any], event: ConversationEvent | None, report: Report
) -> None:
    if event is None:
        report.problems.append(
            Problem("completeness", "no outbox event names this record", seq=seq)
        )
        return
    expected = record_content(
        seq=seq, event=event, archived_at=timezone.now(), message_id=None, original_seq=None
    )
    differing = [f for f in OUTBOX_FIELDS if expected[f] != content.get(f)]
    if differing:
        report.problems.append(
            Problem(
                "content",
                f"differs from outbox event {event.event_id} in {', '.join(differing)}",
                seq=seq,
            )
        )


def _check_signature(checkpoint: Checkpoint, keys: signing.KeyRing, report: Report) -> None:
    size = checkpoint.tree_size
    statement = checkpoint_statement(
        tree_size=size,
        root_hash=checkpoint.root_hash,
        head_hash=checkpoint.head_hash,
        signed_at=checkpoint.signed_at.isoformat(),
        key_id=checkpoint.key_id,
    )
    public_key = keys.get(checkpoint.key_id)
    if public_key is None:
        report.problems.append(Problem("signature", "signed by an unknown key", checkpoint=size))
    elif not signing.signature_valid(public_key, statement, checkpoint.signature):
        report.problems.append(
            Problem("signature", "the signature does not verify", checkpoint=size)
        )


def _check_checkpoint(
    checkpoint: Checkpoint, walk: _Walk, keys: signing.KeyRing, report: Report
) -> None:
    size = checkpoint.tree_size
    _check_signature(checkpoint, keys, report)
    if walk.accumulator.root().hex() != checkpoint.root_hash:
        report.problems.append(
            Problem(
                "checkpoint",
                f"records {walk.matched_size + 1}..{size} no longer match the signed Merkle "
                "root: a record in that range was changed and re-hashed",
                checkpoint=size,
                seq=size,
            )
        )
    else:
        walk.matched_size = size
    if walk.prev_hash != checkpoint.head_hash:
        report.problems.append(
            Problem(
                "checkpoint",
                "the record at this size is not the one that was signed",
                checkpoint=size,
                seq=size,
            )
        )
    report.checkpoints += 1


def _check_unreached_checkpoint(
    checkpoint: Checkpoint, keys: signing.KeyRing, report: Report
) -> None:
    """A checkpoint whose last record is missing: its root cannot be recomputed at its size."""
    size = checkpoint.tree_size
    _check_signature(checkpoint, keys, report)
    report.problems.append(
        Problem(
            "checkpoint",
            f"record {size}, the last one this checkpoint signed, is missing",
            checkpoint=size,
            seq=size,
        )
    )
    report.checkpoints += 1


def _note_references(content: dict[str, Any], seq: int, walk: _Walk) -> None:
    if content.get("type") == "message.new" and content.get("message_id"):
        walk.created_messages.add(int(content["message_id"]))
    if content.get("type") == "attachment.added":
        walk.blob_refs.setdefault(content["payload"]["attachment"]["sha256"], seq)


def _check_blobs(walk: _Walk, store: BlobStore, report: Report) -> None:
    known = {b.sha256: b for b in ArchiveBlob.objects.all()}
    for sha256, seq in walk.blob_refs.items():
        if sha256 not in known:
            report.problems.append(
                Problem("blob", "no blob row for this attachment", seq=seq, blob=sha256)
            )
    for sha256, blob in known.items():
        try:
            with store.open(sha256) as stream:
                digest, size = hash_stream(stream)
        except Exception as exc:  # any failure to read a blob means it is missing
            report.problems.append(
                Problem(
                    "blob", f"missing from the blob store ({exc})", seq=blob.first_seq, blob=sha256
                )
            )
            continue
        if digest != sha256 or size != blob.size:
            report.problems.append(
                Problem("blob", f"stored bytes hash to {digest}", seq=blob.first_seq, blob=sha256)
            )
        report.blobs += 1


def _outbox_read(events: Iterator[ConversationEvent], walk: _Walk) -> Iterator[ConversationEvent]:
    for event in events:
        walk.outbox_seq = event.archived_seq or walk.outbox_seq
        yield event


def _messages_archived_elsewhere(candidates: set[int], after_seq: int) -> set[int]:
    """Which of `candidates` have a message.new event that is still pending or was archived
    after the walk read the outbox. Read pending first: an event that leaves the pending set
    in between is then archived, and the second read sees it."""
    if not candidates:
        return set()
    pending = chat_selectors.events_pending_archive(limit=PENDING_SCAN_LIMIT)
    later = chat_selectors.archived_events_in_archive_order(from_seq=after_seq + 1)
    found: set[int] = set()
    for event in itertools.chain(pending, later):
        if event.type == "message.new" and event.payload["message"]["id"] in candidates:
            found.add(event.payload["message"]["id"])
    return found


def _check_live_data(walk: _Walk, report: Report, grace: timedelta, from_seq: int) -> None:
    cutoff = timezone.now() - grace
    for event_id, occurred_at in chat_selectors.events_unarchived():
        report.pending += 1
        if occurred_at < cutoff:
            report.problems.append(
                Problem(
                    "completeness",
                    f"outbox event {event_id} from {occurred_at:%Y-%m-%d %H:%M:%S} "
                    "was never archived",
                )
            )
    if from_seq > 1:
        return  # an incremental run has not seen the older message.new records
    # Live messages before the outbox: one not seen in the walk is then pending or archived
    # since (the outbox's own check covers those), or it truly has no record.
    missing = set(chat_selectors.live_message_ids()) - walk.created_messages
    missing -= _messages_archived_elsewhere(missing, max(walk.outbox_seq, report.tree_size))
    for message_id in sorted(missing):
        report.problems.append(
            Problem("completeness", f"live message {message_id} has no message.new record")
        )


def _start(incremental: bool, keys: signing.KeyRing, report: Report) -> _Walk:
    if incremental:
        last_run = VerificationRun.objects.filter(problem_count=0).order_by("-pk").first()
        checkpoint = (
            Checkpoint.objects.filter(tree_size__lte=last_run.verified_tree_size)
            .order_by("-tree_size")
            .first()
            if last_run
            else None
        )
        if checkpoint is not None:
            accumulator = frontier_from_json(checkpoint.frontier)
            walk = _Walk(
                checkpoint.tree_size + 1,
                checkpoint.head_hash,
                accumulator,
                matched_size=checkpoint.tree_size,
            )
            # The starting point itself must still be what was signed.
            check = _Walk(0, checkpoint.head_hash, accumulator)
            _check_checkpoint(checkpoint, check, keys, report)
            report.checkpoints -= 1
            report.from_seq = checkpoint.tree_size + 1
            return walk
    return _Walk(1, GENESIS_HASH, MerkleAccumulator())


def verify_archive(
    *,
    public_keys: Sequence[Ed25519PublicKey] | None = None,
    incremental: bool = False,
    grace: timedelta = timedelta(minutes=2),
    progress: Callable[[int], None] | None = None,
    record_run: bool = True,
) -> Report:
    """Verify in one snapshot, so records and outbox rows archived meanwhile cannot look
    like missing ones."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return _verify(
            public_keys=public_keys,
            incremental=incremental,
            grace=grace,
            progress=progress,
            record_run=record_run,
        )


def _verify(
    *,
    public_keys: Sequence[Ed25519PublicKey] | None,
    incremental: bool,
    grace: timedelta,
    progress: Callable[[int], None] | None,
    record_run: bool,
) -> Report:
    started = timezone.now()
    # Keys the caller holds are the whole ring: a verifier need not trust ours.
    keys = signing.key_ring(public_keys) if public_keys else signing.own_key_ring()
    report = Report()
    walk = _start(incremental, keys, report)
    report.from_seq = walk.expected_seq
    report.tree_size = walk.expected_seq - 1  # verified clean before, if incremental
    checkpoints = iter(
        Checkpoint.objects.filter(tree_size__gte=walk.expected_seq).order_by("tree_size")
    )
    next_checkpoint = next(checkpoints, None)
    events = _outbox_read(
        chat_selectors.archived_events_in_archive_order(from_seq=walk.expected_seq), walk
    )
    event = next(events, None)
    for record in _records(walk.expected_seq):
        seq = record["seq"]
        content = _check_record(record, walk, report)
        while event is not None and event.archived_seq < seq:
            report.problems.append(
                Problem(
                    "completeness",
                    f"outbox event {event.event_id} says it was archived here, "
                    "but the record is missing",
                    seq=event.archived_seq,
                )
            )
            event = next(events, None)
        matching = event if event is not None and event.archived_seq == seq else None
        _check_against_outbox(seq, content, matching, report)
        if matching is not None:
            event = next(events, None)
        _note_references(content, seq, walk)
        # A checkpoint below this seq was never reached: the record at its size is missing.
        while next_checkpoint is not None and next_checkpoint.tree_size < seq:
            _check_unreached_checkpoint(next_checkpoint, keys, report)
            next_checkpoint = next(checkpoints, None)
        walk.accumulator.append(bytes.fromhex(record["hash"]))
        while next_checkpoint is not None and next_checkpoint.tree_size == seq:
            _check_checkpoint(next_checkpoint, walk, keys, report)
            next_checkpoint = next(checkpoints, None)
        report.records += 1
        report.tree_size = seq
        if progress is not None:
            progress(1)
    while event is not None:
        report.problems.append(
            Problem(
                "completeness",
                f"outbox event {event.event_id} says it was archived, but the record is missing",
                seq=event.archived_seq,
            )
        )
        event = next(events, None)
    while next_checkpoint is not None:
        report.problems.append(
            Problem(
                "checkpoint",
                f"signed over {next_checkpoint.tree_size} records, but the archive "
                f"ends at {report.tree_size}",
                checkpoint=next_checkpoint.tree_size,
            )
        )
        next_checkpoint = next(checkpoints, None)
    _check_blobs(walk, blob_store(), report)
    _check_live_data(walk, report, grace, report.from_seq)
    if record_run:
        VerificationRun(
            started_at=started,
            finished_at=timezone.now(),
            incremental=incremental,
            from_seq=report.from_seq,
            verified_tree_size=report.tree_size,
            problem_count=len(report.problems),
        ).save()
    return report
