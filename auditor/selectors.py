"""django-auditlog's model diffs that belong to an audit event.

Both are written in the same transaction by the same actor, a few milliseconds apart, but
nothing names the other. A service records its audit event last (audit.services), after its
rows, so an event's diffs are the log entries of the same actor (or of no actor, for
provisioning and tasks) written after that actor's previous event and up to this one, and at
most WINDOW_BEFORE earlier. See docs/audit.md.
"""

from datetime import timedelta
from typing import Any

from auditlog.models import LogEntry

from audit.models import AuditEvent

#: The longest an action may take between its first row and its audit event.
WINDOW_BEFORE = timedelta(seconds=5)
MAX_CHANGES = 200


def model_changes_for_event(*, event: AuditEvent) -> list[dict[str, Any]]:
    start = event.created_at - WINDOW_BEFORE
    previous = (
        AuditEvent.objects.filter(actor_id=event.actor_id, seq__lt=event.seq, created_at__gt=start)
        .order_by("-seq")
        .values_list("created_at", flat=True)
        .first()
    )
    entries = (
        LogEntry.objects.select_related("content_type")
        .filter(
            actor_id=event.actor_id,
            timestamp__gt=previous or start,
            timestamp__lte=event.created_at,
        )
        .order_by("timestamp", "pk")[:MAX_CHANGES]
    )
    return [
        {
            "id": entry.pk,
            "model": f"{entry.content_type.app_label}.{entry.content_type.model}",
            "object_pk": entry.object_pk,
            "object_repr": entry.object_repr,
            "action": entry.get_action_display(),
            "changes": entry.changes_dict,
            "timestamp": entry.timestamp,
        }
        for entry in entries
    ]
