"""The periodic sweep: violations of a policy in force that slipped past every check.

A join or an invite does not take the policies' share lock (it holds the channel's lock first;
an activation takes them the other way round), so a join racing an activation can land after
the activation looked; a join racing a group change can land after the group hook looked; a
group hook can be lost to a crash between the group change's commit and the hook. The sweep
(Celery beat, `chat.barrier_sweep`) looks at every policy in force, under its row lock as an
activation does, and mends what it finds as the activation decided:

- a violating conversation the policy does not hold read-only: a direct or group message
  becomes read-only; a channel loses the members of the segment the administrator chose to
  remove (`remove_segment_a/b`), and becomes read-only if it still violates (or if the
  decision was `read_only`);
- a conversation the policy holds read-only that no longer violates it is released.

Conversations already held read-only stay as they are (a group change makes read-only and never
removes anyone). Each policy's repairs are one transaction with one `barrier.swept` audit event;
a sweep with nothing to do writes nothing, so running it twice is running it once.
"""

import logging
from typing import Any

from django.db import transaction

from accounts.selectors import group_member_ids
from audit.models import AuditEventType
from audit.services import audit_event_record

from ..services.conversations import membership_remove_by_barrier
from .models import BarrierPolicy, BarrierPolicyVersion, BarrierVersionState, ChannelDecision
from .restrictions import conversation_release, conversation_restrict, restricted_by_policy
from .violations import channel_ids, violating_conversation_ids

logger = logging.getLogger(__name__)

REMOVED_SEGMENT = {
    ChannelDecision.REMOVE_SEGMENT_A.value: "segment_a_id",
    ChannelDecision.REMOVE_SEGMENT_B.value: "segment_b_id",
}


def barrier_sweep() -> dict[int, dict[str, Any]]:
    """Mend every policy in force; {policy id: what was done} for those that needed it."""
    policy_ids = BarrierPolicyVersion.objects.filter(
        state=BarrierVersionState.IN_FORCE, policy__removed_at__isnull=True
    ).values_list("policy_id", flat=True)
    mended = {}
    for policy_id in sorted(policy_ids):
        try:
            outcome = _policy_sweep(policy_id)
        except Exception:
            # The next sweep tries again; one policy's failure must not stop the others.
            logger.exception("sweeping barrier policy %s failed", policy_id)
            continue
        if outcome:
            mended[policy_id] = outcome
    return mended


def _removed_members(version: BarrierPolicyVersion, channels: set[int]) -> dict[str, list[int]]:
    segment = getattr(version, REMOVED_SEGMENT.get(version.decision.get("channels", ""), ""), None)
    if segment is None or not channels:
        return {}
    leaving = group_member_ids(group_id=segment)
    removed = {}
    for conversation_id in sorted(channels):
        gone = membership_remove_by_barrier(
            actor=None, conversation_id=conversation_id, user_ids=leaving
        )
        if gone:
            removed[str(conversation_id)] = gone
    return removed


@transaction.atomic
def _policy_sweep(policy_id: int) -> dict[str, Any]:
    locked = BarrierPolicy.objects.select_for_update().filter(pk=policy_id, removed_at__isnull=True)
    if not list(locked.values_list("pk", flat=True)):  # removed meanwhile
        return {}
    version = BarrierPolicyVersion.objects.filter(
        policy_id=policy_id, state=BarrierVersionState.IN_FORCE
    ).first()
    if version is None:
        return {}
    a, b = version.segment_a_id, version.segment_b_id
    held = restricted_by_policy(policy_id=policy_id)
    violating = violating_conversation_ids(segment_a=a, segment_b=b)
    removed = _removed_members(version, channel_ids(conversation_ids=violating - held))
    if removed:
        violating = violating_conversation_ids(segment_a=a, segment_b=b)
    slipped = violating - held
    for conversation_id in sorted(slipped):
        conversation_restrict(
            conversation_id=conversation_id, policy_id=policy_id, cause="sweep", actor=None
        )
    released = sorted(held - violating)
    for conversation_id in released:
        conversation_release(conversation_id=conversation_id, policy_id=policy_id, actor=None)
    if not (slipped or removed or released):
        return {}
    outcome = {
        "policy_id": policy_id,
        "version": version.number,
        "via": "sweep",
        "channels": version.decision.get("channels"),
        "restricted": sorted(slipped),
        "removed": removed,
        "released": released,
    }
    audit_event_record(actor=None, event_type=AuditEventType.BARRIER_SWEPT, details=outcome)
    return outcome
