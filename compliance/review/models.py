"""The review queue: one item per flagged (or sampled) message, and every step taken on it."""

from django.conf import settings
from django.db import models


class ReviewState(models.TextChoices):
    NEW = "new", "New"
    CLAIMED = "claimed", "Claimed"
    CLOSED = "closed", "Closed"


class ReviewQueue(models.TextChoices):
    FIRST = "first", "First level"
    ESCALATED = "escalated", "Escalated (second level)"


class Decision(models.TextChoices):
    NO_ISSUE = "no_issue", "No issue"
    FALSE_POSITIVE = "false_positive", "False positive"
    VIOLATION = "violation", "Violation"
    ESCALATED = "escalated", "Escalated"


class ReviewItem(models.Model):
    """A message (or a blocked attempt) to review. `archive_seq` is the record that raised it
    first; its flags are every Flag of the message (or of that record)."""

    archive_seq = models.BigIntegerField(unique=True)
    message_id = models.BigIntegerField(null=True, blank=True, unique=True)
    conversation_id = models.BigIntegerField()
    author_id = models.BigIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    sampled = models.BooleanField(default=False)
    # Who wrote in the conversation around the record when it was raised: they may not
    # review it (checked again, up to date, at each claim and decision).
    participants = models.JSONField(default=list)
    queue = models.CharField(max_length=16, choices=ReviewQueue.choices, default="first")
    state = models.CharField(max_length=16, choices=ReviewState.choices, default="new")
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    decision = models.CharField(max_length=16, choices=Decision.choices, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["queue", "state", "created_at"])]

    def __str__(self) -> str:
        return f"review {self.pk} ({self.state})"


class SamplingRun(models.Model):
    """One day's sample for one policy version: taken once (a second run finds it)."""

    policy_version = models.ForeignKey(
        "compliance.PolicyVersion", on_delete=models.PROTECT, related_name="+"
    )
    day = models.DateField()
    sampled = models.PositiveIntegerField()
    candidates = models.PositiveIntegerField()
    taken_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["policy_version", "day"], name="unique_sampling_run")
        ]

    def __str__(self) -> str:
        return f"sample {self.policy_version_id} {self.day}"


class ReviewStepKind(models.TextChoices):
    CLAIM = "claim", "Claimed"
    RELEASE = "release", "Released"
    DECISION = "decision", "Decided"
    REOPEN = "reopen", "Reopened"


class ReviewStep(models.Model):
    """The item's history: who claimed, released, decided or reopened it, when, and why."""

    item = models.ForeignKey(ReviewItem, on_delete=models.PROTECT, related_name="steps")
    kind = models.CharField(max_length=16, choices=ReviewStepKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    queue = models.CharField(max_length=16, choices=ReviewQueue.choices)
    decision = models.CharField(max_length=16, choices=Decision.choices, blank=True)
    comment = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["actor", "at"])]

    def __str__(self) -> str:
        return f"{self.kind} of {self.item_id}"


class EmailState(models.TextChoices):
    NONE = "", "Not e-mailed"
    PENDING = "pending", "To be e-mailed"
    SENT = "sent", "E-mailed"
    FAILED = "failed", "E-mail failed"


class ReviewerNotification(models.Model):
    """A policy's notify action told one reviewer of one flag (compliance.review.notifications):
    listed in their workspace until read, and e-mailed when mail is set up. One per flag and
    reviewer, so a redelivered scan never notifies twice."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    flag = models.ForeignKey("compliance.Flag", on_delete=models.PROTECT, related_name="+")
    item = models.ForeignKey(ReviewItem, on_delete=models.PROTECT, related_name="notifications")
    policy_version = models.ForeignKey(
        "compliance.PolicyVersion", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    email_state = models.CharField(max_length=8, choices=EmailState.choices, blank=True)
    # A failed e-mail is tried again later (compliance.review.notifications), until it goes or
    # EMAIL_ATTEMPTS have failed.
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_retry_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["flag", "recipient"], name="unique_notification")
        ]
        indexes = [
            models.Index(fields=["recipient", "read_at", "created_at"]),
            models.Index(
                fields=["email_state"],
                condition=models.Q(email_state="pending"),
                name="notification_email_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"notification {self.flag_id} for {self.recipient_id}"
