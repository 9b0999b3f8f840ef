"""The records' checks: sequence, chain, hash, columns, the outbox copy, blobs, live data."""

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.utils import timezone

from eim.chat import selectors as chat_selectors
from eim.chat.models import ConversationEvent
from ledger.canonical import chain_hash
from ledger.checkpoints import NO_STATEMENT
from ledger.merkle import MerkleAccumulator

from ..blobs import BlobStore, hash_stream
from ..models import ArchiveBlob, ArchiveRecord
from ..services.archiving import record_content
from .report import Problem, Report

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
class Walk:
    """State carried from one record to the next."""

    expected_seq: int
    prev_hash: str
    accumulator: MerkleAccumulator
    blob_refs: dict[str, int] = field(default_factory=dict)
    # The size of the last checkpoint whose root matched: a later mismatch lies after it.
    matched_size: int = 0
    # The archived_seq of the last outbox event read: the outbox as the walk saw it.
    outbox_seq: int = 0
    # The last checkpoint passed, and the SHA-256 of its statement: the next one chains to it.
    chain_size: int = 0
    chain_statement: str = NO_STATEMENT


def records_from(from_seq: int, last_seq: int | None = None) -> Iterator[dict[str, Any]]:
    records = ArchiveRecord.objects.filter(seq__gte=from_seq)
    if last_seq is not None:
        records = records.filter(seq__lte=last_seq)
    for row in records.order_by("seq").values_list(*COLUMNS).iterator(chunk_size=5000):
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


def check_record(record: dict[str, Any], walk: Walk, report: Report) -> dict[str, Any]:
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


def check_against_outbox(
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


def note_references(content: dict[str, Any], seq: int, walk: Walk) -> None:
    if content.get("type") == "attachment.added":
        walk.blob_refs.setdefault(content["payload"]["attachment"]["sha256"], seq)


def check_blobs(
    walk: Walk, store: BlobStore, report: Report, *, rotation: tuple[int, int] | None = None
) -> None:
    """Every attachment the walk met has its blob row; blobs are re-hashed: all of them, or on
    a `rotation` (slot, slots) only those whose name falls in this slot plus those first
    archived after report.from_seq, so that each is re-hashed once per `slots` runs."""
    refs = list(walk.blob_refs.items())
    for start in range(0, len(refs), 1000):
        chunk = dict(refs[start : start + 1000])
        known = set(ArchiveBlob.objects.filter(sha256__in=chunk).values_list("sha256", flat=True))
        for sha256, seq in chunk.items():
            if sha256 not in known:
                report.add("blob", "no blob row for this attachment", seq=seq, blob=sha256)
    for blob in ArchiveBlob.objects.order_by("first_seq", "sha256").iterator(chunk_size=2000):
        if rotation is not None and blob.first_seq < report.from_seq:
            slot, slots = rotation
            if int(blob.sha256[:8], 16) % slots != slot:
                continue
        _check_blob(blob, store, report)


def _check_blob(blob: ArchiveBlob, store: BlobStore, report: Report) -> None:
    sha256 = blob.sha256
    try:
        with store.open(sha256) as stream:
            digest, size = hash_stream(stream)
    except Exception as exc:  # any failure to read a blob means it is missing
        report.add("blob", f"missing from the blob store ({exc})", seq=blob.first_seq, blob=sha256)
        return
    if digest != sha256 or size != blob.size:
        report.add("blob", f"stored bytes hash to {digest}", seq=blob.first_seq, blob=sha256)
    report.blobs += 1


def outbox_read(events: Iterator[ConversationEvent], walk: Walk) -> Iterator[ConversationEvent]:
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


def _live_without_record(up_to: int) -> Iterator[int]:
    """Live messages with no message.new record among 1..up_to: two streams in id order,
    merged, so memory holds only what is missing. (The walk checks each record's message_id
    column against its hashed content.)"""
    created = (
        ArchiveRecord.objects.filter(event_type="message.new", seq__lte=up_to)
        .exclude(message_id=None)
        .order_by("message_id")
        .values_list("message_id", flat=True)
        .iterator(chunk_size=5000)
    )
    next_created = next(created, None)
    for message_id in chat_selectors.live_message_ids():
        while next_created is not None and next_created < message_id:
            next_created = next(created, None)
        if next_created != message_id:
            yield message_id


def check_live_data(walk: Walk, report: Report, grace: timedelta, from_seq: int) -> None:
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
    missing = set(_live_without_record(report.tree_size))
    missing -= _messages_archived_elsewhere(missing, max(walk.outbox_seq, report.tree_size))
    for message_id in sorted(missing):
        report.problems.append(
            Problem("completeness", f"live message {message_id} has no message.new record")
        )
