"""Reads of the information barriers: for administrators (policies, versions) and for the
other apps that must obey them (search's scope)."""

from collections.abc import Iterable

from django.db.models import Count, QuerySet

from accounts.models import User
from accounts.selectors import user_is_active_administrator

from ..errors import ChatError, ErrorCode
from ..models import Conversation
from .models import BarrierPolicy, BarrierPolicyVersion, BarrierRestriction, BarrierVersionState
from .violations import Violations, violations


def conversations_searchable(*, conversation_ids: Iterable[int]) -> set[int]:
    """Of these conversations, those an employee's search may look into: not the ones an
    information barrier made read-only (people in them may no longer be together)."""
    ids = set(conversation_ids)
    barred = Conversation.objects.filter(pk__in=ids, barrier_restricted=True).values_list(
        "pk", flat=True
    )
    return ids - set(barred)


def _require_administrator(actor: User) -> None:
    if not user_is_active_administrator(user=actor):
        raise ChatError(ErrorCode.FORBIDDEN, "only an administrator manages information barriers")


def barrier_policies_for_administrator(*, actor: User) -> QuerySet[BarrierPolicy]:
    _require_administrator(actor)
    return (
        BarrierPolicy.objects.filter(removed_at__isnull=True)
        .prefetch_related("versions__segment_a", "versions__segment_b")
        .order_by("name")
    )


def barrier_policy_for_administrator(*, actor: User, policy_id: int) -> BarrierPolicy:
    policy = barrier_policies_for_administrator(actor=actor).filter(pk=policy_id).first()
    if policy is None:
        raise ChatError(ErrorCode.NOT_FOUND, "no such barrier policy")
    return policy


def barrier_restriction_counts(*, actor: User) -> dict[int, int]:
    """{policy id: how many conversations it holds read-only}."""
    _require_administrator(actor)
    rows = BarrierRestriction.objects.values("policy_id").annotate(n=Count("pk"))
    return {row["policy_id"]: row["n"] for row in rows}


def barrier_proposal_violations(
    *, actor: User, policy_id: int, offset: int, limit: int
) -> tuple[BarrierPolicyVersion, Violations]:
    """What the policy's proposal would bar today, one page of it, with exact counts. A read:
    the preview that activation requires is `services.barrier_policy_preview`, which records
    and audits; the console runs it first and then pages through this."""
    policy = barrier_policy_for_administrator(actor=actor, policy_id=policy_id)
    version = policy.versions.filter(state=BarrierVersionState.PROPOSED).first()
    if version is None:
        raise ChatError(ErrorCode.NOT_FOUND, "this policy has no proposed version to preview")
    found = violations(
        segment_a=version.segment_a_id, segment_b=version.segment_b_id, offset=offset, limit=limit
    )
    return version, found
