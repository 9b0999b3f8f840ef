"""Barrier policies, their versions, and the conversations a policy made read-only.

A policy's segments are fixed per version: a change is a new *proposed* version, previewed,
then put in force by an administrator's decision (`services.barrier_policy_activate`); the
version in force keeps being enforced meanwhile. Written only by `eim.chat.barriers.services`.
"""

from django.conf import settings
from django.db import models


class BarrierVersionState(models.TextChoices):
    PROPOSED = "proposed", "Proposed (previewed, not enforced)"
    IN_FORCE = "in_force", "In force"
    SUPERSEDED = "superseded", "Superseded"
    WITHDRAWN = "withdrawn", "Withdrawn before it took effect"


class ChannelDecision(models.TextChoices):
    """What activating a version does to the channels that already violate it.

    Direct and group messages always become read-only: their people are fixed."""

    READ_ONLY = "read_only", "Make them read-only"
    REMOVE_SEGMENT_A = "remove_segment_a", "Remove the members of segment A"
    REMOVE_SEGMENT_B = "remove_segment_b", "Remove the members of segment B"


class BarrierPolicy(models.Model):
    name = models.CharField(max_length=100, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class BarrierPolicyVersion(models.Model):
    """Segments A and B of one version of a policy. A deleted group leaves its side empty
    (SET_NULL): the version then bars nobody, and the console shows it."""

    policy = models.ForeignKey(BarrierPolicy, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    segment_a = models.ForeignKey(
        "accounts.Group", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    segment_b = models.ForeignKey(
        "accounts.Group", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=16, choices=BarrierVersionState.choices)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # The administrator's decision and its outcome (counts), as audited.
    decision = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["policy", "number"], name="barrier_version_number"),
            models.UniqueConstraint(
                fields=["policy"],
                condition=models.Q(state="in_force"),
                name="barrier_one_version_in_force",
            ),
            models.UniqueConstraint(
                fields=["policy"],
                condition=models.Q(state="proposed"),
                name="barrier_one_version_proposed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy_id} v{self.number} {self.state}"


class BarrierRestriction(models.Model):
    """A conversation made read-only because barred people are in it under `policy`.

    `Conversation.barrier_restricted` is true exactly while a row exists for it: the flag is
    what the send path reads (in the same statement that takes the conversation's seq)."""

    conversation = models.ForeignKey(
        "chat.Conversation", on_delete=models.CASCADE, related_name="barrier_restrictions"
    )
    policy = models.ForeignKey(BarrierPolicy, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # "activation" (the administrator's decision), "group_change" (a segment grew later) or
    # "sweep" (a violation that slipped past the checks, mended by barrier_sweep).
    cause = models.CharField(max_length=16)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "policy"], name="barrier_restriction_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id} read-only by {self.policy_id}"


class BarrierGeneration(models.Model):
    """One row whose `value` changes in the same transaction as every change to the facts a
    mention check reads: the policies, their versions, group memberships and usernames
    (triggers of migration chat/0009, on PostgreSQL). The send statement returns it, so a
    process may keep those facts in memory while the value it holds is the one the send sees
    (`rules.barrier_mentioning`). Values come from a sequence: a rolled-back change never
    hands its value to another, so equal values mean equal facts. Not evidence of anything:
    the check is; a lost or rewritten row only costs a reload."""

    value = models.BigIntegerField()

    def __str__(self) -> str:
        return f"barrier generation {self.value}"
