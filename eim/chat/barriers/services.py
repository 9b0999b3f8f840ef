"""Barrier policies: the one write path for the REST API, the console and commands.

A policy takes effect in three steps, each by an administrator and each audited:
`barrier_policy_create` (or `barrier_policy_propose` for a change) writes a *proposed*
version; `barrier_policy_preview` shows every existing conversation and membership that
violates it; `barrier_policy_activate` applies the administrator's decision about them
(read-only, or remove one segment's members from channels) and puts the version in force.
Activation names the version it decides on and is refused if that version was not previewed,
so what takes effect is what the administrator saw.
"""

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.selectors import group_member_ids, groups_by_id, user_is_active_administrator
from audit.models import AuditEventType
from audit.services import audit_event_record

from ..errors import ChatError, ErrorCode
from ..services.conversations import membership_remove_by_barrier
from .models import (
    BarrierPolicy,
    BarrierPolicyVersion,
    BarrierVersionState,
    ChannelDecision,
)
from .restrictions import conversation_release, conversation_restrict, restricted_by_policy
from .violations import Violations, channel_ids, violating_conversation_ids, violations

CHANNEL_KINDS = ("public", "private")


def _require_administrator(actor: User) -> None:
    if not user_is_active_administrator(user=actor):
        raise ChatError(ErrorCode.FORBIDDEN, "only an administrator manages information barriers")


def _check_segments(segment_a: object, segment_b: object) -> tuple[int, int]:
    if not isinstance(segment_a, int) or not isinstance(segment_b, int):
        raise ChatError(ErrorCode.INVALID_INPUT, "segments are group ids")
    if segment_a == segment_b:
        raise ChatError(ErrorCode.INVALID_INPUT, "a barrier is between two different groups")
    if len(groups_by_id(group_ids=[segment_a, segment_b])) != 2:
        raise ChatError(ErrorCode.INVALID_INPUT, "both segments must be existing groups")
    return segment_a, segment_b


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 100:
        raise ChatError(ErrorCode.INVALID_INPUT, "a policy name is 1 to 100 characters")
    return name.strip()


def _policy_locked(policy_id: int) -> BarrierPolicy:
    policy = BarrierPolicy.objects.select_for_update().filter(pk=policy_id).first()
    if policy is None or policy.removed_at is not None:
        raise ChatError(ErrorCode.NOT_FOUND, "no such barrier policy")
    return policy


def _version_details(version: BarrierPolicyVersion) -> dict[str, Any]:
    return {
        "policy_id": version.policy_id,
        "version": version.number,
        "segment_a": version.segment_a_id,
        "segment_b": version.segment_b_id,
    }


def _propose(policy: BarrierPolicy, actor: User, a: int, b: int) -> BarrierPolicyVersion:
    policy.versions.filter(state=BarrierVersionState.PROPOSED).update(
        state=BarrierVersionState.WITHDRAWN, decided_by=actor, decided_at=timezone.now()
    )
    last = policy.versions.order_by("-number").values_list("number", flat=True).first() or 0
    version = BarrierPolicyVersion.objects.create(
        policy=policy,
        number=last + 1,
        segment_a_id=a,
        segment_b_id=b,
        state=BarrierVersionState.PROPOSED,
        proposed_by=actor,
    )
    audit_event_record(
        actor=actor,
        event_type=AuditEventType.BARRIER_PROPOSED,
        details=_version_details(version) | {"name": policy.name},
    )
    return version


@transaction.atomic
def barrier_policy_create(
    *, actor: User, name: object, segment_a: object, segment_b: object
) -> BarrierPolicyVersion:
    """A new policy, proposed: nothing is enforced until it is previewed and activated."""
    _require_administrator(actor)
    clean_name = _check_name(name)
    a, b = _check_segments(segment_a, segment_b)
    try:
        with transaction.atomic():
            policy = BarrierPolicy.objects.create(name=clean_name, created_by=actor)
    except IntegrityError as exc:
        raise ChatError(ErrorCode.ALREADY_EXISTS, "a barrier policy has that name") from exc
    return _propose(policy, actor, a, b)


@transaction.atomic
def barrier_policy_propose(
    *, actor: User, policy_id: int, segment_a: object, segment_b: object
) -> BarrierPolicyVersion:
    """A change of segments, proposed; the version in force stays enforced until then."""
    _require_administrator(actor)
    a, b = _check_segments(segment_a, segment_b)
    return _propose(_policy_locked(policy_id), actor, a, b)


def _proposed(policy: BarrierPolicy, number: object) -> BarrierPolicyVersion:
    version = policy.versions.filter(state=BarrierVersionState.PROPOSED).first()
    if version is None or version.number != number:
        raise ChatError(
            ErrorCode.CONFLICT, "that version is not the policy's proposal (it changed since)"
        )
    return version


@transaction.atomic
def barrier_policy_preview(
    *, actor: User, policy_id: int
) -> tuple[BarrierPolicyVersion, Violations]:
    """What the proposed version would bar: recorded as previewed, audited with its counts."""
    _require_administrator(actor)
    policy = _policy_locked(policy_id)
    version = policy.versions.filter(state=BarrierVersionState.PROPOSED).first()
    if version is None:
        raise ChatError(ErrorCode.NOT_FOUND, "this policy has no proposed version to preview")
    found = violations(segment_a=version.segment_a_id, segment_b=version.segment_b_id)
    version.decision = {"previewed_at": timezone.now().isoformat(), "counts": found.counts}
    version.save(update_fields=["decision"])
    audit_event_record(
        actor=actor,
        event_type=AuditEventType.BARRIER_PREVIEWED,
        details=_version_details(version) | {"counts": found.counts},
    )
    return version, found


def _check_decision(channels: object) -> ChannelDecision:
    if channels not in ChannelDecision.values:
        raise ChatError(
            ErrorCode.INVALID_INPUT, f"channels is one of {', '.join(ChannelDecision.values)}"
        )
    return ChannelDecision(str(channels))


def _apply(
    policy: BarrierPolicy, version: BarrierPolicyVersion, decision: ChannelDecision, actor: User
) -> dict[str, Any]:
    """Carry out the decision on today's violations; what remains violating goes read-only,
    and conversations this policy restricted that no longer violate it are released."""
    a, b = version.segment_a_id, version.segment_b_id
    found = violating_conversation_ids(segment_a=a, segment_b=b)
    removed: dict[str, list[int]] = {}
    if decision != ChannelDecision.READ_ONLY and found:
        segment = a if decision == ChannelDecision.REMOVE_SEGMENT_A else b
        assert segment is not None
        leaving = group_member_ids(group_id=segment)
        for conversation_id in sorted(channel_ids(conversation_ids=found)):
            gone = membership_remove_by_barrier(
                actor=actor, conversation_id=conversation_id, user_ids=leaving
            )
            if gone:
                removed[str(conversation_id)] = gone
        found = violating_conversation_ids(segment_a=a, segment_b=b)
    for conversation_id in sorted(found):
        conversation_restrict(
            conversation_id=conversation_id, policy_id=policy.pk, cause="activation", actor=actor
        )
    released = sorted(restricted_by_policy(policy_id=policy.pk) - found)
    for conversation_id in released:
        conversation_release(conversation_id=conversation_id, policy_id=policy.pk, actor=actor)
    return {"restricted": sorted(found), "removed": removed, "released": released}


@transaction.atomic
def barrier_policy_activate(
    *, actor: User, policy_id: int, version: object, channels: object
) -> BarrierPolicyVersion:
    """Put the previewed proposal in force, doing to today's violations what was decided."""
    _require_administrator(actor)
    decision = _check_decision(channels)
    policy = _policy_locked(policy_id)
    proposed = _proposed(policy, version)
    if "previewed_at" not in proposed.decision:
        raise ChatError(ErrorCode.CONFLICT, "preview the proposal before it takes effect")
    outcome = _apply(policy, proposed, decision, actor)
    now = timezone.now()
    policy.versions.filter(state=BarrierVersionState.IN_FORCE).update(
        state=BarrierVersionState.SUPERSEDED, decided_at=now
    )
    proposed.state = BarrierVersionState.IN_FORCE
    proposed.decided_by, proposed.decided_at = actor, now
    proposed.decision = proposed.decision | {"channels": decision.value} | outcome
    proposed.save(update_fields=["state", "decided_by", "decided_at", "decision"])
    audit_event_record(
        actor=actor,
        event_type=AuditEventType.BARRIER_ACTIVATED,
        details=_version_details(proposed)
        | {"name": policy.name, "channels": decision.value}
        | outcome,
    )
    return proposed


@transaction.atomic
def barrier_policy_withdraw(*, actor: User, policy_id: int, version: object) -> None:
    """Drop the proposal; the version in force (if any) stays as it is."""
    _require_administrator(actor)
    proposed = _proposed(_policy_locked(policy_id), version)
    proposed.state = BarrierVersionState.WITHDRAWN
    proposed.decided_by, proposed.decided_at = actor, timezone.now()
    proposed.save(update_fields=["state", "decided_by", "decided_at"])
    audit_event_record(
        actor=actor, event_type=AuditEventType.BARRIER_WITHDRAWN, details=_version_details(proposed)
    )


@transaction.atomic
def barrier_policy_remove(*, actor: User, policy_id: int) -> BarrierPolicy:
    """End the policy: nothing it barred is barred any more; its read-only conversations are
    released (unless another policy still restricts them)."""
    _require_administrator(actor)
    policy = _policy_locked(policy_id)
    now = timezone.now()
    policy.versions.filter(state=BarrierVersionState.IN_FORCE).update(
        state=BarrierVersionState.SUPERSEDED, decided_by=actor, decided_at=now
    )
    policy.versions.filter(state=BarrierVersionState.PROPOSED).update(
        state=BarrierVersionState.WITHDRAWN, decided_by=actor, decided_at=now
    )
    released = sorted(restricted_by_policy(policy_id=policy.pk))
    for conversation_id in released:
        conversation_release(conversation_id=conversation_id, policy_id=policy.pk, actor=actor)
    policy.removed_at = now
    policy.save(update_fields=["removed_at"])
    audit_event_record(
        actor=actor,
        event_type=AuditEventType.BARRIER_REMOVED,
        details={"policy_id": policy.pk, "name": policy.name, "released": released},
    )
    return policy
