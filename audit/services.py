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
from django.db import transaction
from django.utils import timezone

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


def _head_locked() -> AuditHead:
    try:
        return AuditHead.objects.select_for_update().get(pk=1)
    except AuditHead.DoesNotExist:
        # Only before the first event of a database that never had one.
        AuditHead.objects.bulk_create([AuditHead(pk=1)], ignore_conflicts=True)
        return AuditHead.objects.select_for_update().get(pk=1)


def audit_event_record(
    *, actor: AbstractBaseUser | None, event_type: AuditEventType, details: dict[str, Any]
) -> AuditEvent:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("an audit event is recorded inside the action's transaction")
    if event_type not in AuditEventType.values:
        raise ValueError(f"{event_type!r} is not a registered audit event type")
    # Stored exactly as hashed: what JSON cannot say (tuples, non-string keys) is said once.
    stored_details = json.loads(canonical_json(details))
    head = _head_locked()
    seq = head.last_seq + 1
    actor_id = actor.pk if actor else None
    actor_username = actor.get_username() if actor else ""
    created_at = timezone.now()
    canonical = canonical_json(
        audit_event_content(
            seq=seq,
            event_type=str(event_type),
            actor_id=actor_id,
            actor_username=actor_username,
            details=stored_details,
            created_at=created_at,
        )
    )
    event = AuditEvent(
        seq=seq,
        actor_id=actor_id,
        actor_username=actor_username,
        event_type=event_type,
        details=stored_details,
        created_at=created_at,
        canonical=canonical,
        prev_hash=head.last_hash,
        hash=chain_hash(head.last_hash, canonical),
    )
    event.save()
    head.last_seq, head.last_hash = seq, event.hash
    head.save(update_fields=["last_seq", "last_hash"])
    if (recorded := _collected.get()) is not None:
        recorded.append((seq, event.hash))
    return event
