"""Verifying the audit trail: the gapless seq, the hash chain, each event's hash, that the
columns say what was hashed, and the signed checkpoints. Every problem names the seq or the
checkpoint where it is.

Checkpoints (audit.checkpoints) are checked with public keys only, as the archive's are, through
the shared ledger.custody: every checkpoint in the database or in a witness is compared across
them (missing from either side, differing copies), its signature checked, its Merkle root and
head recomputed from the events, and its chain to the one before followed. Events left without
a checkpoint longer than EIM_AUDIT_CHECKPOINT_MAX_AGE are reported, with how long they waited.
A superuser who re-hashes the chain from an edited event and moves the head passes the chain
checks, but not the checkpoints: the database's and the witnesses' copies sign the old root.

Streaming in bounded memory: events are read in seq order, a chunk at a time, each chunk in a
query of its own, so no snapshot is held open for the whole walk (writers only append after the
head, so the rows a walk reads never legitimately change while it reads them). The head row is
read after the walk; events it says exist must then be there, so a deleted tail is found too.
"""

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.utils import timezone

from ledger import signing
from ledger.canonical import canonical_json, chain_hash
from ledger.checkpoints import NO_STATEMENT, SignedCheckpoint
from ledger.custody import (
    Custody,
    WitnessView,
    age_text,
    check_chain_link,
    check_signature,
    copies_of,
    report_unreachable,
)
from ledger.merkle import MerkleAccumulator
from ledger.witness import configured_witnesses

from .checkpoints import LEDGER, signed_audit_checkpoint
from .models import GENESIS_HASH, AuditCheckpoint, AuditEvent, AuditHead, AuditVerificationRun

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
    checkpoint: int | None = None


@dataclass
class Report:
    events: int = 0
    last_seq: int = 0
    head_seq: int = 0
    checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, kind: str, detail: str, **where: Any) -> None:
        self.problems.append(Problem(kind, detail, **where))

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
    accumulator: MerkleAccumulator = field(default_factory=MerkleAccumulator)
    # The checkpoints the walk has still to reach, ascending, and the last one it passed.
    pending: list[int] = field(default_factory=list)
    chain_size: int = 0
    chain_statement: str = NO_STATEMENT


@dataclass
class _Checkpoints:
    """Every checkpoint the database or a witness holds, and what checks them."""

    custody: Custody
    rows: dict[int, AuditCheckpoint]
    trusted: SignedCheckpoint | None = None

    def sizes(self) -> list[int]:
        return sorted(set(self.rows) | self.custody.view.sizes())


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
    signed: _Checkpoints,
    report: Report,
    progress: Callable[[int], None] | None,
) -> None:
    for event in events:
        seq = event["seq"]
        _check_links(event, walk, report)
        _check_content(event, report)
        # A checkpoint below this seq was never reached: the event at its size is missing.
        while walk.pending and walk.pending[0] < seq:
            _check_checkpoint(walk.pending.pop(0), walk, signed, report, reached="missing")
        walk.accumulator.append(bytes.fromhex(event["hash"]))
        walk.expected_seq = seq + 1
        walk.before_prev_hash, walk.prev_hash = walk.prev_hash, event["hash"]
        if signed.trusted is not None and signed.trusted.tree_size == seq:
            _check_trusted(signed.trusted, walk, report)
        if walk.pending and walk.pending[0] == seq:
            _check_checkpoint(walk.pending.pop(0), walk, signed, report, reached="yes")
        report.events += 1
        report.last_seq = seq
        if progress is not None:
            progress(1)


def _check_checkpoint(
    size: int, walk: _Walk, signed: _Checkpoints, report: Report, *, reached: str
) -> None:
    """`reached`: "yes" (the walk is at its size), "missing" (the event at its size is
    missing), or "beyond the end" of the trail."""
    row = signed.rows.get(size)
    ours = signed_audit_checkpoint(row) if row is not None else None
    copies = copies_of(size, ours, row.signed_at if row else None, signed.custody, report)
    valid = [copy for copy in copies if check_signature(copy, signed.custody.keys, report)]
    if reached == "yes":
        for root_hash, head_hash in dict.fromkeys((c.root_hash, c.head_hash) for c in copies):
            _check_root(size, root_hash, head_hash, walk, report)
    elif reached == "beyond the end":
        report.add(
            "checkpoint",
            f"signed over {size} events, but the trail ends at {report.last_seq}",
            checkpoint=size,
        )
    else:
        report.add(
            "checkpoint",
            f"event {size}, the last one this checkpoint signed, is missing",
            checkpoint=size,
            seq=size,
        )
    if copies:  # the chain goes through a copy whose signature verifies, if any does
        _check_chain((valid or copies)[0], walk, signed, report)
    report.checkpoints += 1


def _check_root(size: int, root_hash: str, head_hash: str, walk: _Walk, report: Report) -> None:
    if walk.accumulator.root().hex() != root_hash:
        report.add(
            "checkpoint",
            f"events 1..{size} no longer match the signed Merkle root: an event in that range "
            "was changed and re-hashed",
            checkpoint=size,
            seq=size,
        )
    if walk.prev_hash != head_hash:
        report.add(
            "checkpoint",
            "the event at this size is not the one that was signed",
            checkpoint=size,
            seq=size,
        )


def _check_chain(copy: SignedCheckpoint, walk: _Walk, signed: _Checkpoints, report: Report) -> None:
    check_chain_link(
        copy,
        prev_size=walk.chain_size,
        prev_statement=walk.chain_statement,
        held=lambda size: size in signed.sizes(),
        report=report,
    )
    walk.chain_size, walk.chain_statement = copy.tree_size, copy.statement_hash()


def _check_trusted(trusted: SignedCheckpoint, walk: _Walk, report: Report) -> None:
    size = trusted.tree_size
    if walk.accumulator.root().hex() != trusted.root_hash:
        report.add(
            "trusted",
            f"events 1..{size} do not hash to the trusted checkpoint's root: an event in that "
            "range differs from what was trusted",
            checkpoint=size,
            seq=size,
        )
    if walk.prev_hash != trusted.head_hash:
        report.add(
            "trusted",
            f"event {size} is not the one the trusted checkpoint signed",
            checkpoint=size,
            seq=size,
        )


def _check_freshness(signed: _Checkpoints, report: Report) -> None:
    """Events must not wait longer than EIM_AUDIT_CHECKPOINT_MAX_AGE for a checkpoint."""
    sizes = signed.sizes()
    newest = sizes[-1] if sizes else 0
    if report.last_seq <= newest:
        return
    created_at = (
        AuditEvent.objects.filter(seq=newest + 1).values_list("created_at", flat=True).first()
    )
    now = signed.custody.now
    bound = timedelta(seconds=settings.EIM_AUDIT_CHECKPOINT_MAX_AGE)
    if created_at is None or now - created_at <= bound:
        return
    row = signed.rows.get(newest)
    said = f"signed {age_text(now - row.signed_at)} ago" if row is not None else "in no witness"
    report.add(
        "freshness",
        f"events {newest + 1}..{report.last_seq} have no checkpoint: event {newest + 1} has "
        f"waited {age_text(now - created_at)} (bound {age_text(bound)}); the newest "
        f"checkpoint, {newest or 'none'}, was {said}",
        checkpoint=newest or None,
        seq=newest + 1,
    )


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


def _signed_checkpoints(
    keys: signing.KeyRing, now: datetime | None, trusted: SignedCheckpoint | None
) -> _Checkpoints:
    """The witnesses are listed before the database's checkpoints are read: a checkpoint row
    commits before its copies are written, so every copy listed has its row unless removed."""
    view = WitnessView.read(configured_witnesses(), ledger=LEDGER)
    rows = {row.tree_size: row for row in AuditCheckpoint.objects.defer("frontier")}
    grace = timedelta(seconds=settings.EIM_ARCHIVE_WITNESS_GRACE)
    return _Checkpoints(Custody(view, now or timezone.now(), grace, keys), rows, trusted)


def verify_audit_trail(
    *,
    public_keys: Sequence[Ed25519PublicKey] | None = None,
    trusted: SignedCheckpoint | None = None,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Walk every event in seq order through every checkpoint; then the events the head says
    were written meanwhile. Signatures are checked with `public_keys` when given (a verifier
    need not trust ours), else with our own public keys: never the private key."""
    keys = signing.key_ring(public_keys) if public_keys else signing.own_key_ring()
    signed = _signed_checkpoints(keys, now, trusted)
    report = Report()
    report_unreachable(signed.custody, report)
    if trusted is not None:
        check_signature(trusted, keys, report)
    walk = _Walk(pending=signed.sizes())
    _walk(_events(0), walk, signed, report, progress)
    head = AuditHead.objects.filter(pk=1).first()
    if head is not None and head.last_seq > report.last_seq:
        # Committed before the head was read, so they must be there now.
        _walk(_events(report.last_seq, up_to=head.last_seq), walk, signed, report, progress)
    while walk.pending:
        _check_checkpoint(walk.pending.pop(0), walk, signed, report, reached="beyond the end")
    _check_head(head, walk, report)
    _check_freshness(signed, report)
    if trusted is not None and report.last_seq < trusted.tree_size:
        report.add(
            "trusted",
            f"the trail ends at event {report.last_seq}, before the trusted checkpoint's "
            f"{trusted.tree_size} events",
            checkpoint=trusted.tree_size,
        )
    return report


AUDIT_RUN_PROBLEMS_KEPT = 50


def _witnessed_tree_size() -> int | None:
    """The newest audit checkpoint that every configured witness holds."""
    held: set[int] | None = None
    for witness in configured_witnesses():
        sizes = set(witness.sizes(LEDGER))
        held = sizes if held is None else held & sizes
    return max(held) if held else None


def verification_run_record(*, report: Report, started_at: datetime) -> AuditVerificationRun:
    """Keep the outcome of a verification for the auditor's view (written by audit.tasks)."""
    try:
        witnessed = _witnessed_tree_size()
    except Exception:  # a witness that cannot be listed is a problem the report already names
        witnessed = None
    return AuditVerificationRun.objects.create(
        started_at=started_at,
        finished_at=timezone.now(),
        events=report.events,
        last_seq=report.last_seq,
        checkpoints=report.checkpoints,
        problem_count=len(report.problems),
        problems=[asdict(p) for p in report.problems[:AUDIT_RUN_PROBLEMS_KEPT]],
        witnessed_tree_size=witnessed,
    )
