"""Compliance records: the search index's progress and the audit trail of compliance actions.

The search table itself (one row per message version, see
`compliance.search.query.compile_postgres`) has no model: its columns differ by database
(tsvector and arrays on PostgreSQL), so migration 0002 creates it from the contract DDL and
the search backends read and write it with SQL.
"""

from typing import Any

from django.conf import settings
from django.db import models


class SearchIndexState(models.Model):
    """The single progress row: every archive record up to `last_seq` is in the index."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"search index at {self.last_seq}"


class AuditEventType(models.TextChoices):
    """Every compliance action that is audited; the one registry of event types."""

    SEARCH_RUN = "search.run", "Search run"
    MESSAGE_VIEWED = "message.viewed", "Message viewed"
    VERSION_HISTORY_VIEWED = "message.versions_viewed", "Version history viewed"
    CONTEXT_VIEWED = "message.context_viewed", "Conversation context viewed"
    EXPORT_MADE = "export.made", "Export made"
    HOLD_PLACED = "hold.placed", "Legal hold placed"
    REVIEW_DECIDED = "review.decided", "Review decided"


class AuditImmutableError(Exception):
    """An attempt to change or remove an audit event."""


class AuditEvent(models.Model):
    """One compliance action: who did what, with what (query, filters, result count).

    Append-only: `save()` over an existing row and `delete()` raise. The hash chain over
    audit events (like the archive's) is a later issue: it will add `prev_hash` / `hash`
    here and compute them in `compliance.audit.audit_event_record`, the only writer.
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="compliance_audit_events"
    )
    event_type = models.CharField(max_length=40, choices=AuditEventType.choices)
    details = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["actor", "created_at"])]

    def __str__(self) -> str:
        return f"{self.event_type} by {self.actor_id} at {self.created_at}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditImmutableError("audit events are never changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditImmutableError("audit events are never deleted")
