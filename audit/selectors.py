"""Reads of the audit trail, for the auditor's view (auditor/): filtered, keyset-paged by seq,
and the trail's status as the last verification run found it. Authorization is the caller's."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from .models import AuditCheckpoint, AuditEvent, AuditHead, AuditVerificationRun


@dataclass(frozen=True)
class EventFilter:
    """What the auditor narrows the trail to; every field optional."""

    actor: str = ""  # the username recorded with the event
    event_type: str = ""  # an exact type, or a family ending in "." ("role.")
    target_key: str = ""  # with target_value: the event's details say key = value
    target_value: str = ""
    since: datetime | None = None
    until: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "actor": self.actor,
            "type": self.event_type,
            "target": f"{self.target_key}={self.target_value}" if self.target_key else "",
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
        }


def _target(key: str, value: str) -> Q:
    """details[key] is the value, or a list holding it; numbers match as numbers too."""
    candidates: list[Any] = [value]
    if value.lstrip("-").isdigit():
        candidates.append(int(value))
    match = Q()
    for candidate in candidates:
        match |= Q(details__contains={key: candidate}) | Q(details__contains={key: [candidate]})
    return match


def audit_events(*, filters: EventFilter) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    if filters.actor:
        events = events.filter(actor_username=filters.actor)
    if filters.event_type.endswith("."):
        events = events.filter(event_type__startswith=filters.event_type)
    elif filters.event_type:
        events = events.filter(event_type=filters.event_type)
    if filters.target_key:
        events = events.filter(_target(filters.target_key, filters.target_value))
    if filters.since:
        events = events.filter(created_at__gte=filters.since)
    if filters.until:
        events = events.filter(created_at__lt=filters.until)
    return events


def audit_events_page(
    *, filters: EventFilter, before_seq: int | None, limit: int
) -> tuple[list[AuditEvent], int | None]:
    """Newest first, `limit` events before `before_seq`; and the cursor of the next page."""
    events = audit_events(filters=filters)
    if before_seq is not None:
        events = events.filter(seq__lt=before_seq)
    rows = list(events.order_by("-seq")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].seq if more and rows else None)


def audit_events_in_chunks(
    *, filters: EventFilter, up_to_seq: int, chunk: int = 2000
) -> Iterator[list[AuditEvent]]:
    """Every matching event up to `up_to_seq`, oldest first, in keyset chunks: each chunk is
    its own short query, so an export holds no cursor open while the client reads."""
    after = 0
    while True:
        rows = list(
            audit_events(filters=filters)
            .filter(seq__gt=after, seq__lte=up_to_seq)
            .order_by("seq")[:chunk]
        )
        if not rows:
            return
        yield rows
        after = rows[-1].seq


def audit_event_by_seq(*, seq: int) -> AuditEvent | None:
    return AuditEvent.objects.filter(seq=seq).first()


def audit_head_seq() -> int:
    return AuditHead.objects.filter(pk=1).values_list("last_seq", flat=True).first() or 0


@dataclass(frozen=True)
class TrailStatus:
    head_seq: int
    checkpoint: AuditCheckpoint | None
    last_run: AuditVerificationRun | None


def audit_trail_status() -> TrailStatus:
    """The head, the newest signed checkpoint, and the last verification's outcome: read from
    rows, never computed (a full verification is the `audit.verify` task's job)."""
    return TrailStatus(
        head_seq=audit_head_seq(),
        checkpoint=AuditCheckpoint.objects.order_by("-tree_size").first(),
        last_run=AuditVerificationRun.objects.order_by("-finished_at", "-pk").first(),
    )
