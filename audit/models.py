"""The audit trail of administrative changes and compliance actions.

Append-only and hash-chained like the archive: each event has a gapless `seq` taken from the
single `AuditHead` row, `canonical` (the exact bytes hashed), `prev_hash` and `hash`. Database
triggers refuse UPDATE, DELETE and TRUNCATE of events (migration 0002); the models refuse
save-over and delete. `audit.verification.verify_audit_trail` finds what a superuser changed.
"""

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
    ROLE_REQUESTED = "role.requested", "Role requested (awaits a second administrator)"
    ROLE_GRANTED = "role.granted", "Role granted"
    ROLE_APPROVED = "role.approved", "Role request approved (role granted)"
    ROLE_REQUEST_REFUSED = "role.request_refused", "Role request refused by an administrator"
    ROLE_EXPIRED = "role.expired", "Role request expired unapproved"
    ROLE_REVOKED = "role.revoked", "Role revoked"
    ROLE_REFUSED = "role.refused", "Role change refused by the rules"
    ROLE_REQUEST_WITHDRAWN = (
        "role.request_withdrawn",
        "Mapped role request withdrawn (identity-provider group membership gone)",
    )
    USER_DEACTIVATED = "user.deactivated", "User deactivated"
    USER_PASSWORD_CHANGED = "user.password_changed", "User's password changed"
    USER_REACTIVATED = "user.reactivated", "User reactivated"
    USER_SIGNED_OUT_EVERYWHERE = "user.signed_out_everywhere", "User signed out everywhere"
    API_TOKEN_CREATED = "api_token.created", "API token created"
    API_TOKEN_REVOKED = "api_token.revoked", "API token revoked"
    # Identity providers, external identities and groups (accounts.services.identities, .groups)
    IDENTITY_PROVIDER_CREATED = "identity_provider.created", "Identity provider added"
    IDENTITY_PROVIDER_UPDATED = "identity_provider.updated", "Identity provider changed"
    IDENTITY_LINKED = "identity.linked", "External identity linked to a person"
    GROUP_CREATED = "group.created", "Group created"
    GROUP_UPDATED = "group.updated", "Group changed"
    GROUP_DELETED = "group.deleted", "Group deleted"
    GROUP_MEMBERS_ADDED = "group.members_added", "People added to a group"
    GROUP_MEMBERS_REMOVED = "group.members_removed", "People removed from a group"
    GROUP_ROLE_RULE_ADDED = "group_role_rule.added", "Group to role rule added"
    GROUP_ROLE_RULE_REMOVED = "group_role_rule.removed", "Group to role rule removed"
    # Information barriers (eim.chat.barriers) and the auditor's view (auditor/)
    BARRIER_PROPOSED = "barrier.proposed", "Barrier policy version proposed"
    BARRIER_PREVIEWED = "barrier.previewed", "Barrier policy violations previewed"
    BARRIER_ACTIVATED = "barrier.activated", "Barrier policy version put in force"
    BARRIER_WITHDRAWN = "barrier.withdrawn", "Barrier policy proposal withdrawn"
    BARRIER_REMOVED = "barrier.removed", "Barrier policy removed"
    BARRIER_REEVALUATED = "barrier.reevaluated", "Barrier re-evaluated after a group change"
    BARRIER_SWEPT = "barrier.swept", "Barrier violations that slipped through mended by the sweep"
    AUDIT_TRAIL_VIEWED = "audit.viewed", "Audit trail viewed by an auditor"
    AUDIT_TRAIL_EXPORTED = "audit.exported", "Audit trail exported by an auditor"
    # Content scanning and supervision (compliance/scanning, compliance/review; issue 12)
    POLICY_CREATED = "policy.created", "Content policy created"
    POLICY_CHANGED = "policy.changed", "Content policy changed (new version)"
    POLICY_TESTED = "policy.tested", "Content policy tested or back-tested"
    REVIEW_VIEWED = "review.viewed", "Review item opened (viewed, not reviewed)"
    REVIEW_CLAIMED = "review.claimed", "Review item claimed"
    REVIEW_RELEASED = "review.released", "Review item released"
    REVIEW_ESCALATED = "review.escalated", "Review item escalated"
    REVIEW_REOPENED = "review.reopened", "Review item reopened"
    REVIEW_SAMPLED = "review.sampled", "Messages sampled for review"
    REVIEW_REPORT_MADE = "review.report_made", "Review report made"
    POLICY_NOTIFIED = "policy.notified", "Content policy notified the sender or reviewers"
    # Evidence export (compliance.export); EXPORT_MADE above records an export's completion.
    EXPORT_CREATED = "export.created", "Export requested"
    EXPORT_CANCELLED = "export.cancelled", "Export cancelled"
    EXPORT_DOWNLOADED = "export.downloaded", "Export downloaded"
    EXPORT_DELETED = "export.deleted", "Export deleted"
    EXPORT_EXPIRED = "export.expired", "Export expired (its files removed)"
    # The administrator's console (console/, eim.chat.services.administration, accounts.workspace)
    CONSOLE_ENTERED = "console.entered", "Administrator's console opened (once a session)"
    CONVERSATION_MEMBERS_ADDED = "conversation.members_added", "People added by an administrator"
    CONVERSATION_MEMBER_REMOVED = (
        "conversation.member_removed",
        "Member removed by an administrator",
    )
    CONVERSATION_ARCHIVED = "conversation.archived", "Conversation archived by an administrator"
    CONVERSATION_UNARCHIVED = "conversation.unarchived", "Conversation unarchived"
    CONVERSATION_VISIBILITY_CHANGED = (
        "conversation.visibility_changed",
        "Channel made private or public by an administrator",
    )
    CONVERSATION_OWNERSHIP_TRANSFERRED = (
        "conversation.ownership_transferred",
        "Conversation ownership handed over by an administrator",
    )
    WORKSPACE_SETTINGS_CHANGED = "workspace_settings.changed", "Workspace settings changed"
    # SCIM provisioning (accounts.scim; people it creates go through accounts.services.users)
    SCIM_TOKEN_CREATED = "scim_token.created", "SCIM token created"
    SCIM_TOKEN_REVOKED = "scim_token.revoked", "SCIM token revoked"
    USER_CREATED = "user.created", "User created"
    USER_PROFILE_UPDATED = "user.profile_updated", "User's name or e-mail changed"
    SCIM_USER_UPDATED = "scim.user_updated", "Provisioned person's attributes changed by SCIM"
    # Single sign-on and MFA (accounts/sso/)
    SSO_SIGN_IN_REFUSED = "sso.sign_in_refused", "SSO sign-in refused (SCIM-only, deactivated)"
    MFA_AUTHENTICATOR_ADDED = "mfa.authenticator_added", "MFA authenticator added"
    MFA_AUTHENTICATOR_REMOVED = "mfa.authenticator_removed", "MFA authenticator removed"


GENESIS_HASH = "0" * 64


class AuditImmutableError(Exception):
    """An attempt to change or remove an audit event."""


class AuditHead(models.Model):
    """The single counter row: the last seq and hash. Locked by every writer until it commits,
    so writers serialise and a rolled-back action leaves no hole. The triggers let it only move
    forward and refuse its deletion."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_head_one_row")]

    def __str__(self) -> str:
        return f"audit head {self.last_seq}"


class AuditEvent(models.Model):
    """One audited action: who did what, with what (query, filters, result count).

    Append-only: `save()` over an existing row and `delete()` raise. Written only by
    `audit.services.audit_event_record`. The columns repeat what `canonical` says, for queries;
    verification checks that they agree.
    """

    seq = models.BigIntegerField(unique=True)

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="audit_events",
        help_text="None for the system (scheduled tasks).",
    )
    # The actor's username when the event was recorded: usernames can change later.
    actor_username = models.CharField(max_length=150, blank=True)
    # Not `choices=`: the registry grows with every capability, and a choices change would need
    # a migration of this table each time. The writer accepts only registered types.
    event_type = models.CharField(max_length=40)
    details = models.JSONField(default=dict)
    # Set by the writer once it holds the head, so that created_at follows seq (as the clock does).
    created_at = models.DateTimeField(db_index=True)
    canonical = models.TextField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        indexes = [
            models.Index(fields=["actor", "created_at"], name="audit_actor_created"),
            # The auditor's view filters by type or actor and pages by seq (auditor/).
            models.Index(fields=["event_type", "seq"], name="audit_type_seq"),
            models.Index(fields=["actor_username", "seq"], name="audit_actor_name_seq"),
        ]

    def __str__(self) -> str:
        return f"audit #{self.seq} {self.event_type} by {self.actor_id} at {self.created_at}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditImmutableError("audit events are never changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditImmutableError("audit events are never deleted")


class AuditCheckpoint(models.Model):
    """A signed Merkle tree head over events 1..tree_size (leaves: the events' hashes), chained
    to the previous audit checkpoint and kept by the witnesses under the ledger name `audit`.

    Append-only like the events: triggers refuse UPDATE, DELETE and TRUNCATE (migration 0004).
    Written only by `audit.checkpoints.audit_checkpoint_create`, on the signing queue.
    """

    tree_size = models.BigIntegerField(primary_key=True)
    root_hash = models.CharField(max_length=64)
    head_hash = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    key_id = models.CharField(max_length=64)
    signature = models.CharField(max_length=128)
    # Roots of the perfect subtrees covering 1..tree_size, so the next head starts from here.
    frontier = models.JSONField()
    prev_tree_size = models.BigIntegerField()
    prev_statement_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"audit checkpoint {self.tree_size}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditImmutableError("audit checkpoints are never changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditImmutableError("audit checkpoints are never deleted")


class AuditVerificationRun(models.Model):
    """The outcome of one `audit.verify` task: what the auditor's view shows as the trail's
    status, so that no page view ever walks the trail. Written only by audit.tasks; never
    changed (save-over and delete refuse)."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(db_index=True)
    events = models.BigIntegerField()
    last_seq = models.BigIntegerField()
    checkpoints = models.IntegerField()
    problem_count = models.IntegerField()
    # The first problems found (kind, detail, seq, checkpoint), at most AUDIT_RUN_PROBLEMS_KEPT.
    problems = models.JSONField(default=list)
    # The newest audit checkpoint every configured witness holds; None if none does.
    witnessed_tree_size = models.BigIntegerField(null=True)

    def __str__(self) -> str:
        return f"audit verification to {self.last_seq}: {self.problem_count} problems"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditImmutableError("verification runs are never changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditImmutableError("verification runs are never deleted")
