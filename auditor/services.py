"""The auditor's own reading, recorded: every page of the trail they view, every event they
open and every export they make is an audit event, in the same transaction as the read."""

from typing import Any

from django.db import transaction

from accounts.models import User
from audit.models import AuditEventType
from audit.selectors import EventFilter, audit_head_seq
from audit.services import audit_event_record


@transaction.atomic
def audit_trail_view_record(
    *, auditor: User, filters: EventFilter, before_seq: int | None, shown: list[int]
) -> None:
    audit_event_record(
        actor=auditor,
        event_type=AuditEventType.AUDIT_TRAIL_VIEWED,
        details={
            "view": "events",
            "filters": filters.as_dict(),
            "before": before_seq,
            "shown": len(shown),
            "seqs": [shown[0], shown[-1]] if shown else [],
        },
    )


@transaction.atomic
def audit_event_view_record(*, auditor: User, seq: int, model_changes: int) -> None:
    audit_event_record(
        actor=auditor,
        event_type=AuditEventType.AUDIT_TRAIL_VIEWED,
        details={"view": "event", "seq": seq, "model_changes": model_changes},
    )


@transaction.atomic
def audit_trail_export_record(*, auditor: User, filters: EventFilter, fmt: str) -> int:
    """Record the export before it streams; returns the last seq it includes, so that the
    export is exactly the events that existed when it was asked for (its own record aside)."""
    up_to = audit_head_seq()
    details: dict[str, Any] = {"filters": filters.as_dict(), "format": fmt, "up_to_seq": up_to}
    audit_event_record(
        actor=auditor, event_type=AuditEventType.AUDIT_TRAIL_EXPORTED, details=details
    )
    return up_to
