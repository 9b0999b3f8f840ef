"""Making conversations read-only under a barrier, and lifting that; re-evaluating a policy
when its segments' members change.

A read-only conversation keeps its history readable by its members; nobody writes, reacts,
uploads or types in it, and presence is not announced into it. The change is a
`conversation.updated` event with `changes: ["read_only"]`: the notice in the conversation,
archived like every other event.
"""

import logging

from django.db import transaction
from django.db.models import Q

from accounts.models import User
from audit.models import AuditEventType
from audit.services import audit_event_record

from ..models import Conversation, EventType
from ..payloads import conversation_payload
from ..services.events import conversation_audience, conversation_lock_next_seq, event_record
from .models import BarrierPolicyVersion, BarrierRestriction, BarrierVersionState
from .violations import violating_conversation_ids

logger = logging.getLogger(__name__)


def _announce(conversation_id: int, *, restricted: bool, actor: User | None) -> None:
    seq = conversation_lock_next_seq(conversation_id=conversation_id)
    Conversation.objects.filter(pk=conversation_id).update(barrier_restricted=restricted)
    conversation = Conversation.objects.get(pk=conversation_id)
    event_record(
        conversation_id=conversation_id,
        seq=seq,
        type=EventType.CONVERSATION_UPDATED,
        actor=actor,
        payload={"details": conversation_payload(conversation), "changes": ["read_only"]},
        audience=conversation_audience(conversation_id=conversation_id),
    )


def conversation_restrict(
    *, conversation_id: int, policy_id: int, cause: str, actor: User | None
) -> bool:
    """Make the conversation read-only under this policy. True if it was not already so."""
    _, created = BarrierRestriction.objects.get_or_create(
        conversation_id=conversation_id, policy_id=policy_id, defaults={"cause": cause}
    )
    flagged = Conversation.objects.filter(pk=conversation_id, barrier_restricted=True).exists()
    if not flagged:
        _announce(conversation_id, restricted=True, actor=actor)
    return created


def conversation_release(*, conversation_id: int, policy_id: int, actor: User | None) -> None:
    """Lift this policy's restriction; the conversation is writable when no other remains."""
    BarrierRestriction.objects.filter(conversation_id=conversation_id, policy_id=policy_id).delete()
    if not BarrierRestriction.objects.filter(conversation_id=conversation_id).exists():
        _announce(conversation_id, restricted=False, actor=actor)


def restricted_by_policy(*, policy_id: int) -> set[int]:
    return set(
        BarrierRestriction.objects.filter(policy_id=policy_id).values_list(
            "conversation_id", flat=True
        )
    )


def barrier_group_members_changed(
    group_id: int, added: frozenset[int], removed: frozenset[int]
) -> None:
    """accounts' group hook, after the change commits: every policy in force that has this
    group as a segment is evaluated again (and any whose segment was deleted: it bars nobody
    now). Conversations that now put barred people together become read-only at once (nobody
    is removed: removing is the administrator's decision); those restricted by it that no
    longer do become writable again. Audited, actor None."""
    touched = BarrierPolicyVersion.objects.filter(
        Q(segment_a_id=group_id)
        | Q(segment_b_id=group_id)
        | Q(segment_a__isnull=True)
        | Q(segment_b__isnull=True),
        state=BarrierVersionState.IN_FORCE,
        policy__removed_at__isnull=True,
    ).values_list("policy_id", "segment_a_id", "segment_b_id")
    for policy_id, segment_a, segment_b in touched:
        try:
            _reevaluate(policy_id, segment_a, segment_b, group_id)
        except Exception:
            # The group change is committed; the next change or an administrator's
            # re-activation evaluates again. Logged loudly: a barrier may not hold meanwhile.
            logger.exception("re-evaluating barrier policy %s failed", policy_id)


@transaction.atomic
def _reevaluate(
    policy_id: int, segment_a: int | None, segment_b: int | None, group_id: int
) -> None:
    now = violating_conversation_ids(segment_a=segment_a, segment_b=segment_b)
    before = restricted_by_policy(policy_id=policy_id)
    restricted, released = sorted(now - before), sorted(before - now)
    for conversation_id in restricted:
        conversation_restrict(
            conversation_id=conversation_id, policy_id=policy_id, cause="group_change", actor=None
        )
    for conversation_id in released:
        conversation_release(conversation_id=conversation_id, policy_id=policy_id, actor=None)
    if restricted or released:
        audit_event_record(
            actor=None,
            event_type=AuditEventType.BARRIER_REEVALUATED,
            details={
                "policy_id": policy_id,
                "via": "group_change",
                "group_id": group_id,
                "restricted": restricted,
                "released": released,
            },
        )
