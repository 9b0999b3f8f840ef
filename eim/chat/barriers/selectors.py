"""Reads of the information barriers: for administrators (policies, versions) and for the
other apps that must obey them (search's scope)."""

from collections.abc import Iterable

from django.db.models import QuerySet

from accounts.models import User
from accounts.selectors import user_is_active_administrator

from ..errors import ChatError, ErrorCode
from ..models import Conversation
from .models import BarrierPolicy


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
