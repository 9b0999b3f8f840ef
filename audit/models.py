"""The audit trail of administrative changes and compliance actions."""

from typing import Any

from django.conf import settings
from django.db import models


class AuditEventType(models.TextChoices):
    """Every audited action; the one registry of event types."""

    SEARCH_RUN = "search.run", "Search run"
    MESSAGE_VIEWED = "message.viewed", "Message viewed"
    VERSION_HISTORY_VIEWED = "message.versions_viewed", "Version history viewed"
    CONTEXT_VIEWED = "message.context_viewed", "Conversation context viewed"
    EXPOSURE_VIEWED = "message.exposure_viewed", "Who could see a message viewed"
    EXPORT_MADE = "export.made", "Export made"
    HOLD_PLACED = "hold.placed", "Legal hold placed"
    REVIEW_DECIDED = "review.decided", "Review decided"


class AuditImmutableError(Exception):
    """An attempt to change or remove an audit event."""


class AuditEvent(models.Model):
    """One audited action: who did what, with what (query, filters, result count).

    Append-only: `save()` over an existing row and `delete()` raise. Written only by
    `audit.services.audit_event_record`.
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="audit_events",
        help_text="None for the system (scheduled tasks).",
    )
    event_type = models.CharField(max_length=40, choices=AuditEventType.choices)
    details = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["actor", "created_at"], name="audit_actor_created")]

    def __str__(self) -> str:
        return f"{self.event_type} by {self.actor_id} at {self.created_at}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditImmutableError("audit events are never changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditImmutableError("audit events are never deleted")
