"""Recording compliance actions. The only writer of AuditEvent.

Call it inside the transaction of the action it records, so that an action is never
without its audit event. The hash chain over events (a later issue) goes here.
"""

from typing import Any

from django.db import transaction

from accounts.models import User

from .models import AuditEvent, AuditEventType


def audit_event_record(
    *, actor: User, event_type: AuditEventType, details: dict[str, Any]
) -> AuditEvent:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("an audit event is recorded inside the action's transaction")
    event = AuditEvent(actor=actor, event_type=event_type, details=details)
    event.save()
    return event
