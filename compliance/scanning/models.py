"""Content policies (versioned: a change is a new version row), the scanner's progress, and
the flags it raises. A flag names the policy version that raised it."""

from django.conf import settings
from django.db import models


class Policy(models.Model):
    """A named policy; what it does is its latest version."""

    name = models.CharField(max_length=80, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class PolicyVersion(models.Model):
    """One version of a policy: never changed once written (an edit writes the next)."""

    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    enabled = models.BooleanField(default=True)
    conditions = models.JSONField()
    scope = models.JSONField(default=dict)
    actions = models.JSONField()
    # Daily random sample of messages that raised nothing: {"percent": 2.5, "per_person": 1}
    # (compliance.review.sampling); empty: no sampling.
    sampling = models.JSONField(default=dict)
    # Whom the notify action tells: {"sender": true, "reviewers": <accounts.Group id>}
    # (compliance.review.notifications); empty unless the actions include notify.
    notify = models.JSONField(default=dict)
    note = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["policy", "number"], name="unique_policy_version")
        ]

    def __str__(self) -> str:
        return f"{self.policy_id} v{self.number}"


class PolicySetState(models.Model):
    """The single row counting policy changes: a matcher compiled for another stamp is
    rebuilt (compliance.scanning.cache). The stamp is new at every change, so even a change
    rolled back and redone (tests do) never looks like the one before."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    version = models.BigIntegerField(default=0)
    stamp = models.UUIDField(null=True, blank=True)

    def __str__(self) -> str:
        return f"policy set {self.version}"


class ScanState(models.Model):
    """The single progress row: every archive record up to `last_seq` has been scanned."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"scanned to {self.last_seq}"


class AttachmentText(models.Model):
    """An archived attachment's extracted text, or why it could not be read: written (by
    `attachment_texts_prepare`, outside the scanning transaction, since extraction takes
    seconds) before the scanning batch that reads it, and deleted by that batch."""

    archive_seq = models.BigIntegerField(primary_key=True)
    text = models.TextField(blank=True)
    problem = models.CharField(max_length=200, blank=True)
    pages = models.PositiveIntegerField(default=0)
    cpu_seconds = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"attachment text {self.archive_seq}"


class FlagSource(models.TextChoices):
    MESSAGE = "message", "Message text"
    ATTACHMENT = "attachment", "Attachment text"
    BLOCKED = "blocked", "Blocked attempt"
    SAMPLE = "sample", "Random sample"


class Flag(models.Model):
    """What one policy version found in one archive record. `policy_version` is empty for
    an attachment that could not be scanned (`unscannable` says why) and for a sample."""

    archive_seq = models.BigIntegerField()
    message_id = models.BigIntegerField(null=True, blank=True)
    conversation_id = models.BigIntegerField()
    author_id = models.BigIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    source = models.CharField(max_length=16, choices=FlagSource.choices)
    policy_version = models.ForeignKey(
        PolicyVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="flags"
    )
    hits = models.JSONField(default=list)
    unscannable = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["archive_seq", "policy_version"], name="unique_flag_per_policy_version"
            ),
            models.UniqueConstraint(
                fields=["archive_seq", "source"],
                condition=models.Q(policy_version__isnull=True),
                name="unique_flag_without_policy",
            ),
        ]
        indexes = [models.Index(fields=["message_id"]), models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"flag {self.archive_seq}/{self.policy_version_id}"
