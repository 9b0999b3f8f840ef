"""Recording audited actions. The only writer of AuditEvent.

Call it inside the transaction of the action it records, so that an action is never
without its audit event. Each event is chained to the one before it: the writer locks the
audit head row, takes the next seq and hashes the event's canonical JSON onto the previous
hash. The lock is held until the action's transaction ends, so writers serialise and a
rolled-back action takes its seq with it (no hole). Record the event last in the action, so
that the lock is held for as short a time as possible and never taken before other locks.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from eim.db import mark_inserted
from ledger.canonical import canonical_json, chain_hash

from .models import AuditEvent, AuditEventType, AuditHead


def audit_event_content(
    *,
    seq: int,
    event_type: str,
    actor_id: int | None,
    actor_username: str,
    details: Any,
    created_at: datetime,
) -> dict[str, Any]:
    """Everything an event says, as hashed."""
    return {
        "seq": seq,
        "type": event_type,
        "actor": actor_id,
        "actor_username": actor_username,
        "details": details,
        "created_at": created_at.isoformat(),
    }


_collected: ContextVar[list[tuple[int, str]] | None] = ContextVar(
    "audit_events_collected", default=None
)


@contextmanager
def audit_events_collected() -> Iterator[list[tuple[int, str]]]:
    """(seq, hash) of every audit event recorded inside the block: how a caller (the console)
    tells the administrator which events record their change without each service returning
    them. Pass the list to `audit_events_kept` once the work is done: an event whose
    transaction rolled back is not kept (its seq may since name another event)."""
    recorded: list[tuple[int, str]] = []
    token = _collected.set(recorded)
    try:
        yield recorded
    finally:
        _collected.reset(token)


def audit_events_kept(recorded: list[tuple[int, str]]) -> list[int]:
    """The seqs of these recorded events that exist (committed, or in the caller's own
    transaction), in order."""
    if not recorded:
        return []
    kept = set(
        AuditEvent.objects.filter(hash__in=[h for _, h in recorded]).values_list("hash", flat=True)
    )
    return [seq for seq, h in recorded if h in kept]


def _head_locked() -> tuple[int, str]:
    """(last_seq, last_hash) of the audit head, locked until the transaction ends."""
    if connection.vendor != "postgresql":  # SQLite: transactions start IMMEDIATE (docs/audit.md)
        head = _head_locked_orm()
        return head.last_seq, head.last_hash
    with connection.cursor() as cursor:
        cursor.execute(_HEAD_LOCK)
        row = cursor.fetchone()
        if row is None:  # only before the first event of a database that never had one
            AuditHead.objects.bulk_create([AuditHead(pk=1)], ignore_conflicts=True)
            cursor.execute(_HEAD_LOCK)
            row = cursor.fetchone()
    return row[0], row[1]


def _head_locked_orm() -> AuditHead:
    try:
        return AuditHead.objects.select_for_update().get(pk=1)
    except AuditHead.DoesNotExist:
        AuditHead.objects.bulk_create([AuditHead(pk=1)], ignore_conflicts=True)
        return AuditHead.objects.select_for_update().get(pk=1)


# Plain SQL on PostgreSQL: every audited action runs these three under the head's lock, and
# building them through the ORM cost more than running them (docs/performance.md, "SCIM
# provisioning"). SQLite (development) keeps the ORM's statements.
_HEAD_LOCK = "SELECT last_seq, last_hash FROM audit_audithead WHERE id = 1 FOR UPDATE"
_HEAD_MOVE = "UPDATE audit_audithead SET last_seq = %s, last_hash = %s WHERE id = 1"
_EVENT_COLUMNS = (
    "seq, actor_id, actor_username, event_type, details, created_at, canonical, prev_hash, hash"
)
_EVENT_VALUES = "(%s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s)"


# AuditEventType.values builds a new list on every read (0.2 ms, on every audited action).
_REGISTERED = frozenset(AuditEventType.values)

_batched: ContextVar[list["_Pending"] | None] = ContextVar("audit_events_batched", default=None)


class _Pending:
    __slots__ = ("actor_id", "actor_username", "details", "event_type")

    def __init__(
        self, actor_id: int | None, actor_username: str, event_type: str, details: Any
    ) -> None:
        self.actor_id = actor_id
        self.actor_username = actor_username
        self.event_type = event_type
        self.details = details


@contextmanager
def audit_events_batched() -> Iterator[None]:
    """Hold the events recorded inside the block and write them together when it ends: one
    lock of the audit head, one INSERT, one head UPDATE. A service that writes several rows
    and records an event after each (a SCIM creation: the person, then their identity) then
    takes the head's lock only at its very end, and holds it for three statements and the
    commit instead of from its first event on. Use it inside the action's transaction; if the
    block raises, nothing is written (the transaction is rolled back anyway)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit events are batched inside the action's transaction")
    if _batched.get() is not None:  # already batching: the outer block writes them
        yield
        return
    pending: list[_Pending] = []
    token = _batched.set(pending)
    try:
        yield
    finally:
        _batched.reset(token)
    if pending:
        _write(pending)


def audit_event_record(
    *, actor: AbstractBaseUser | None, event_type: AuditEventType, details: dict[str, Any]
) -> AuditEvent | None:
    """Record an event, chained to the one before. Inside `audit_events_batched` the event is
    written when the block ends, and None is returned."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("an audit event is recorded inside the action's transaction")
    if event_type not in _REGISTERED:
        raise ValueError(f"{event_type!r} is not a registered audit event type")
    # Stored exactly as hashed: what JSON cannot say (tuples, non-string keys) is said once.
    event = _Pending(
        actor.pk if actor else None,
        actor.get_username() if actor else "",
        str(event_type),
        json.loads(canonical_json(details)),
    )
    if (pending := _batched.get()) is not None:
        pending.append(event)
        return None
    return _write([event])[0]


def _write(pending: list[_Pending]) -> list[AuditEvent]:
    seq, prev_hash = _head_locked()
    created_at = timezone.now()
    events = []
    for item in pending:
        seq += 1
        canonical = canonical_json(
            audit_event_content(
                seq=seq,
                event_type=item.event_type,
                actor_id=item.actor_id,
                actor_username=item.actor_username,
                details=item.details,
                created_at=created_at,
            )
        )
        event = AuditEvent(
            seq=seq,
            actor_id=item.actor_id,
            actor_username=item.actor_username,
            event_type=item.event_type,
            details=item.details,
            created_at=created_at,
            canonical=canonical,
            prev_hash=prev_hash,
            hash=chain_hash(prev_hash, canonical),
        )
        events.append(event)
        prev_hash = event.hash
    if connection.vendor == "postgresql":
        _insert(events)
        with connection.cursor() as cursor:
            cursor.execute(_HEAD_MOVE, [seq, prev_hash])
    else:
        AuditEvent.objects.bulk_create(events)
        AuditHead.objects.filter(pk=1).update(last_seq=seq, last_hash=prev_hash)
    if (recorded := _collected.get()) is not None:
        recorded.extend((event.seq, event.hash) for event in events)
    return events


def _insert(events: list[AuditEvent]) -> None:
    """The events' rows, as the ORM would write them (details as JSON, the ids returned)."""
    params: list[Any] = []
    for e in events:
        params += [
            e.seq,
            e.actor_id,
            e.actor_username,
            e.event_type,
            json.dumps(e.details),
            e.created_at,
            e.canonical,
            e.prev_hash,
            e.hash,
        ]
    values = ", ".join([_EVENT_VALUES] * len(events))  # placeholders only: values are bound
    sql = f"INSERT INTO audit_auditevent ({_EVENT_COLUMNS}) VALUES {values} RETURNING seq, id"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = dict(cursor.fetchall())
    for event in events:
        mark_inserted(event, pk=ids[event.seq], alias=connection.alias)
