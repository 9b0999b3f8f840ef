"""Verifying the audit trail: the gapless seq, the hash chain, each event's hash, and that the
columns say what was hashed. Every problem names the seq where it is.

Streaming in bounded memory: events are read in seq order, a chunk at a time, each chunk in a
query of its own, so no snapshot is held open for the whole walk (writers only append after the
head, so the rows a walk reads never legitimately change while it reads them). The head row is
read after the walk; events it says exist must then be there, so a deleted tail is found too.
"""

import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from ledger.canonical import canonical_json, chain_hash

from .models import GENESIS_HASH, AuditEvent, AuditHead

COLUMNS = (
    "seq",
    "event_type",
    "actor_id",
    "actor_username",
    "details",
    "created_at",
    "canonical",
    "prev_hash",
    "hash",
)
# Columns that repeat a field of the hashed content, under the content's name.
CONTENT_OF_COLUMN = {
    "seq": "seq",
    "event_type": "type",
    "actor_id": "actor",
    "actor_username": "actor_username",
    "details": "details",
}
CHUNK = 2000


@dataclass
class Problem:
    kind: str
    detail: str
    seq: int | None = None


@dataclass
class Report:
    events: int = 0
    last_seq: int = 0
    head_seq: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


@dataclass
class _Walk:
    """State carried from one event to the next."""

    expected_seq: int = 1
    prev_hash: str = GENESIS_HASH
    # The hash of the event before the previous one: an event that chains onto it says that
    # the one in between was inserted.
    before_prev_hash: str | None = None


def _events(after_seq: int, up_to: int | None = None) -> Iterator[dict[str, Any]]:
    while True:
        rows = AuditEvent.objects.filter(seq__gt=after_seq).order_by("seq")
        if up_to is not None:
            rows = rows.filter(seq__lte=up_to)
        chunk = list(rows.values_list(*COLUMNS)[:CHUNK])
        for row in chunk:
            yield dict(zip(COLUMNS, row, strict=True))
        if len(chunk) < CHUNK:
            return
        after_seq = chunk[-1][0]


def _check_links(event: dict[str, Any], walk: _Walk, report: Report) -> None:
    seq = event["seq"]
    if seq != walk.expected_seq:
        missing = (
            f"event {walk.expected_seq} is"
            if seq == walk.expected_seq + 1
            else f"events {walk.expected_seq}..{seq - 1} are"
        )
        report.problems.append(Problem("gap", f"{missing} missing", seq=walk.expected_seq))
    inserted_before = seq == walk.expected_seq and event["prev_hash"] == walk.before_prev_hash
    if event["prev_hash"] != walk.prev_hash and inserted_before:
        report.problems.append(
            Problem(
                "chain",
                f"event {seq} chains onto event {seq - 2}: event {seq - 1} was inserted",
                seq=seq - 1,
            )
        )
    elif event["prev_hash"] != walk.prev_hash:
        report.problems.append(
            Problem("chain", "prev_hash is not the hash of the event before it", seq=seq)
        )
    if chain_hash(event["prev_hash"], event["canonical"]) != event["hash"]:
        report.problems.append(
            Problem("hash", "the event's content does not hash to its stored hash", seq=seq)
        )


def _same_json(stored: Any, hashed: Any) -> bool:
    """Equal as JSON values: true is not 1 (Python says it is), while 1e16 and
    10000000000000000 are the same number (PostgreSQL's jsonb writes the one as the other)."""
    if isinstance(stored, bool) or isinstance(hashed, bool):
        return type(stored) is type(hashed) and stored == hashed
    if isinstance(stored, int | float) and isinstance(hashed, int | float):
        return stored == hashed
    if isinstance(stored, dict) and isinstance(hashed, dict):
        return stored.keys() == hashed.keys() and all(
            _same_json(stored[key], hashed[key]) for key in stored
        )
    if isinstance(stored, list) and isinstance(hashed, list):
        return len(stored) == len(hashed) and all(map(_same_json, stored, hashed))
    return type(stored) is type(hashed) and stored == hashed


def _check_content(event: dict[str, Any], report: Report) -> None:
    seq = event["seq"]
    try:
        content = json.loads(event["canonical"])
    except ValueError:
        report.problems.append(Problem("content", "the hashed content is not JSON", seq=seq))
        return
    if not isinstance(content, dict) or canonical_json(content) != event["canonical"]:
        report.problems.append(
            Problem("content", "the hashed content is not in canonical form", seq=seq)
        )
        return
    for column, name in CONTENT_OF_COLUMN.items():
        if not _same_json(event[column], content.get(name)):
            report.problems.append(
                Problem("content", f"column {column} differs from the hashed content", seq=seq)
            )
    if event["created_at"].isoformat() != content.get("created_at"):
        report.problems.append(
            Problem(
                "content",
                f"created_at {event['created_at'].isoformat()} differs from the hashed "
                f"{content.get('created_at')}",
                seq=seq,
            )
        )


def _walk(
    events: Iterator[dict[str, Any]],
    walk: _Walk,
    report: Report,
    progress: Callable[[int], None] | None,
) -> None:
    for event in events:
        _check_links(event, walk, report)
        _check_content(event, report)
        walk.expected_seq = event["seq"] + 1
        walk.before_prev_hash, walk.prev_hash = walk.prev_hash, event["hash"]
        report.events += 1
        report.last_seq = event["seq"]
        if progress is not None:
            progress(1)


def _check_head(head: AuditHead | None, walk: _Walk, report: Report) -> None:
    head_seq = head.last_seq if head else 0
    report.head_seq = head_seq
    if report.last_seq < head_seq:
        missing = (
            f"event {head_seq} is"
            if report.last_seq + 1 == head_seq
            else f"events {report.last_seq + 1}..{head_seq} are"
        )
        report.problems.append(
            Problem(
                "gap",
                f"{missing} missing: the head says the trail ends at {head_seq}",
                seq=report.last_seq + 1,
            )
        )
    elif head is None:
        if report.last_seq:
            report.problems.append(Problem("head", "the head row is missing", seq=report.last_seq))
    elif report.last_seq > head_seq:
        report.problems.append(
            Problem(
                "head",
                f"events after {head_seq}, where the head says the trail ends",
                seq=head_seq + 1,
            )
        )
    elif head.last_hash != walk.prev_hash:
        report.problems.append(
            Problem("head", "the head's hash is not the hash of the last event", seq=head_seq)
        )


def verify_audit_trail(*, progress: Callable[[int], None] | None = None) -> Report:
    """Walk every event in seq order; then the events the head says were written meanwhile."""
    report = Report()
    walk = _Walk()
    _walk(_events(0), walk, report, progress)
    head = AuditHead.objects.filter(pk=1).first()
    if head is not None and head.last_seq > report.last_seq:
        # Committed before the head was read, so they must be there now.
        _walk(_events(report.last_seq, up_to=head.last_seq), walk, report, progress)
    _check_head(head, walk, report)
    return report
