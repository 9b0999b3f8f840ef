"""Export jobs and the scope each one froze when it started.

A job moves queued → running → signing → packaging → done (or failed, cancelled); a finished
export's files are removed when it expires or is deleted (expired, deleted), the row stays. The
running step resumes from `cursor_seq`: every archive record up to it has been written to the
job's numbered parts (`parts` of them), so a worker killed mid-step redoes one part at most.
"""

import uuid

from django.conf import settings
from django.db import models


class ExportState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SIGNING = "signing", "Signing the manifest"
    PACKAGING = "packaging", "Packaging"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"
    DELETED = "deleted", "Deleted"


ACTIVE_STATES = (
    ExportState.QUEUED,
    ExportState.RUNNING,
    ExportState.SIGNING,
    ExportState.PACKAGING,
)


class ExportJob(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    state = models.CharField(max_length=16, choices=ExportState.choices)
    # What to export, as asked: the query text, chosen message and conversation ids (a case's
    # scope later), and the options (formats, dates, attachments); see options.py.
    query = models.TextField(blank=True)
    scope = models.JSONField(default=dict)
    options = models.JSONField(default=dict)
    # The signed checkpoint every record is proven against (its tree size).
    tree_size = models.BigIntegerField(null=True)
    cursor_seq = models.BigIntegerField(default=0)
    parts = models.IntegerField(default=0)
    total = models.BigIntegerField(default=0)
    done = models.BigIntegerField(default=0)
    counts = models.JSONField(default=dict)
    # The scope is whole conversations read from the archive by (conversation, seq) up to
    # `tree_size`, with no ExportRecord or ExportMessage rows (docs/export.md, "Scopes of
    # whole conversations"); decided when the job starts, so every step and resume reads alike.
    by_conversation = models.BooleanField(default=False, db_default=False)
    manifest_sha256 = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    # Who runs it now: a worker claims the job with a fresh token and beats while it works; the
    # sweeper hands a job whose beat stopped to a new worker (docs/export.md, "Resuming").
    lease_token = models.CharField(max_length=36, blank=True)
    heartbeat_at = models.DateTimeField(null=True)
    started_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(null=True)
    expires_at = models.DateTimeField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["created_by", "-created_at"], name="export_job_by_maker"),
            models.Index(fields=["state", "heartbeat_at"], name="export_job_state"),
        ]

    def __str__(self) -> str:
        return f"export {self.id} ({self.state})"


class ExportMessage(models.Model):
    """A message in the job's scope, frozen when the job started."""

    job = models.ForeignKey(ExportJob, on_delete=models.CASCADE, related_name="+")
    message_id = models.BigIntegerField()
    # Around a hit, not a hit itself ("include context").
    context = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "message_id"], name="export_message_once")
        ]

    def __str__(self) -> str:
        return f"{self.job_id}: message {self.message_id}"


class ExportConversation(models.Model):
    """A conversation of the job's scope: its membership and naming records go with it."""

    job = models.ForeignKey(ExportJob, on_delete=models.CASCADE, related_name="+")
    conversation_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["job", "conversation_id"], name="export_conversation_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.job_id}: conversation {self.conversation_id}"


class ExportRecord(models.Model):
    """An archive record of the job's scope (by its seq), frozen with the scope: the run reads
    its records by keyset over this table, a conversation's with (job, conversation, seq),
    without re-evaluating the scope for every chunk."""

    pk = models.CompositePrimaryKey("job_id", "seq")
    job = models.ForeignKey(ExportJob, on_delete=models.CASCADE, related_name="+")
    seq = models.BigIntegerField()
    conversation_id = models.BigIntegerField()
    # A record of a message exported as context around a hit.
    context = models.BooleanField(default=False)
    # False for a version that a later edit superseded, under "only the latest version": the
    # message formats still place the message by its creation, but the record itself is not
    # exported (JSON Lines, CSV, proofs).
    listed = models.BooleanField(default=True)

    class Meta:
        indexes = [
            models.Index(fields=["job", "conversation_id", "seq"], name="export_record_conv"),
        ]

    def __str__(self) -> str:
        return f"{self.job_id}: record {self.seq}"
