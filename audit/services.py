"""Recording audited actions. The only writer of AuditEvent.

Call it inside the transaction of the action it records, so that an action is never
without its audit event.
"""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from .models import AuditEvent, AuditEventType


def audit_event_record(
    *, actor: AbstractBaseUser | None, event_type: AuditEventType, details: dict[str, Any]
) -> AuditEvent:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("an audit event is recorded inside the action's transaction")
    event = AuditEvent(actor_id=actor.pk if actor else None, event_type=event_type, details=details)
    event.save()
    return event
