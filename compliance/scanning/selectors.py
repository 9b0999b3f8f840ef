"""Reads of the policies and flags, for the workspace and the scanner."""

from typing import Any

from django.db.models import Max

from accounts.models import User
from accounts.selectors import groups_with_member_counts

from ..access import require_compliance_officer
from ..errors import ComplianceError, ComplianceErrorCode
from .models import Flag, Policy, PolicySetState, PolicyVersion
from .policies import PolicySpec


def policy_set_stamp() -> str:
    """Changes at every policy change: what a compiled policy set is checked against."""
    stamp = PolicySetState.objects.filter(pk=1).values_list("stamp", flat=True).first()
    return str(stamp or "")


def latest_versions() -> list[PolicyVersion]:
    latest = PolicyVersion.objects.values("policy_id").annotate(n=Max("number"))
    wanted = {(row["policy_id"], row["n"]) for row in latest}
    versions = PolicyVersion.objects.filter(
        policy_id__in={p for p, _ in wanted}, number__in={n for _, n in wanted}
    ).select_related("policy")
    return sorted(
        (v for v in versions if (v.policy_id, v.number) in wanted), key=lambda v: v.policy.name
    )


def policy_spec(version: PolicyVersion) -> PolicySpec:
    return PolicySpec(
        version_id=version.pk,
        name=version.policy.name,
        version=version.number,
        actions=tuple(version.actions),
        conditions=version.conditions,
        scope=version.scope,
    )


def active_policy_specs() -> list[PolicySpec]:
    """The latest version of every enabled policy."""
    return [policy_spec(v) for v in latest_versions() if v.enabled]


def version_json(version: PolicyVersion) -> dict[str, Any]:
    return {
        "id": version.policy_id,
        "name": version.policy.name,
        "version": version.number,
        "version_id": version.pk,
        "enabled": version.enabled,
        "conditions": version.conditions,
        "scope": version.scope,
        "actions": version.actions,
        "sampling": version.sampling,
        "notify": version.notify,
        "note": version.note,
        "changed_by": version.created_by.get_username(),
        "changed_at": version.created_at.isoformat(),
    }


def policies_for_officer(*, user: User) -> list[dict[str, Any]]:
    require_compliance_officer(user=user)
    return [version_json(v) for v in latest_versions()]


def policy_history_for_officer(*, user: User, policy_id: int) -> list[dict[str, Any]]:
    require_compliance_officer(user=user)
    if not Policy.objects.filter(pk=policy_id).exists():
        raise ComplianceError(ComplianceErrorCode.NOT_FOUND, "no such policy")
    versions = PolicyVersion.objects.filter(policy_id=policy_id).select_related(
        "policy", "created_by"
    )
    return [version_json(v) for v in versions.order_by("-number")]


def flags_of(*, message_id: int | None, archive_seq: int) -> list[Flag]:
    """Every flag of a message (all its versions), or of one record without a message."""
    flags = (
        Flag.objects.filter(message_id=message_id)
        if message_id is not None
        else Flag.objects.filter(archive_seq=archive_seq)
    )
    return list(flags.select_related("policy_version__policy").order_by("archive_seq", "pk"))


def flag_json(flag: Flag) -> dict[str, Any]:
    version = flag.policy_version
    return {
        "archive_seq": flag.archive_seq,
        "source": flag.source,
        "policy": version.policy.name if version else None,
        "policy_version": version.number if version else None,
        "hits": flag.hits,
        "unscannable": flag.unscannable,
    }


def groups_for_officer(*, user: User) -> list[dict[str, Any]]:
    """The groups a policy's scope or reviewer group can name (accounts.Group)."""
    require_compliance_officer(user=user)
    return groups_with_member_counts()
