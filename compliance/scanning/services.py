"""Writing policies: compliance officers only, each change a new version, audited.

Administrators cannot edit policies (separation of duties: the people a policy supervises
must not be able to switch it off), and an officer cannot change a policy whose scope names
them or one of their groups.
"""

import uuid
from typing import Any

from django.db import IntegrityError, transaction

from accounts.models import User
from accounts.selectors import groups_by_id, user_group_ids
from audit.models import AuditEventType
from audit.services import audit_event_record

from ..access import require_compliance_officer
from ..errors import ComplianceError, ComplianceErrorCode
from .cache import policy_set_forget
from .models import Policy, PolicySetState, PolicyVersion
from .policies import (
    PolicyInvalidError,
    actions_check,
    conditions_check,
    notify_check,
    sampling_check,
    scope_check,
)


def _checked(
    conditions: object, scope: object, actions: object
) -> tuple[dict[str, Any], dict[str, list[Any]], list[str]]:
    try:
        return conditions_check(conditions), scope_check(scope or {}), actions_check(actions)
    except PolicyInvalidError as exc:
        raise ComplianceError(ComplianceErrorCode.INVALID_POLICY, str(exc)) from exc


def _sampling(sampling: object) -> dict[str, Any]:
    try:
        return sampling_check(sampling or {})
    except PolicyInvalidError as exc:
        raise ComplianceError(ComplianceErrorCode.INVALID_POLICY, str(exc)) from exc


def _require_groups_exist(scope: dict[str, list[Any]]) -> None:
    wanted = set(scope.get("groups", []))
    if wanted - set(groups_by_id(group_ids=wanted)):
        raise ComplianceError(ComplianceErrorCode.INVALID_POLICY, "scope: there is no such group")


def _notify(notify: object, actions: list[str]) -> dict[str, Any]:
    try:
        checked = notify_check(notify or {}, actions)
    except PolicyInvalidError as exc:
        raise ComplianceError(ComplianceErrorCode.INVALID_POLICY, str(exc)) from exc
    if "reviewers" in checked and not groups_by_id(group_ids=[checked["reviewers"]]):
        raise ComplianceError(
            ComplianceErrorCode.INVALID_POLICY, "notify: there is no such reviewer group"
        )
    return checked


def _require_not_supervised(*, user: User, scopes: list[dict[str, Any]]) -> None:
    groups = user_group_ids(user_id=user.pk)
    for scope in scopes:
        if user.pk in scope.get("users", []) or groups & set(scope.get("groups", [])):
            raise ComplianceError(
                ComplianceErrorCode.FORBIDDEN,
                "this policy supervises you: another compliance officer must change it",
            )


def _policy_set_changed() -> None:
    PolicySetState.objects.bulk_create([PolicySetState(pk=1)], ignore_conflicts=True)
    state = PolicySetState.objects.select_for_update().get(pk=1)
    state.version += 1
    state.stamp = uuid.uuid4()
    state.save(update_fields=["version", "stamp"])
    transaction.on_commit(policy_set_forget)


def _audit_details(version: PolicyVersion) -> dict[str, Any]:
    return {
        "policy": version.policy.name,
        "policy_id": version.policy_id,
        "version": version.number,
        "enabled": version.enabled,
        "actions": version.actions,
        "scope": version.scope,
        "sampling": version.sampling,
        "notify": version.notify,
        "conditions": version.conditions,
        "note": version.note,
    }


@transaction.atomic
def policy_create(
    *,
    user: User,
    name: str,
    conditions: object,
    actions: object,
    scope: object = None,
    sampling: object = None,
    notify: object = None,
    enabled: bool = True,
    note: str = "",
) -> PolicyVersion:
    require_compliance_officer(user=user)
    checked_conditions, checked_scope, checked_actions = _checked(conditions, scope, actions)
    _require_groups_exist(checked_scope)
    name = name.strip()
    if not name or len(name) > 80:
        raise ComplianceError(ComplianceErrorCode.INVALID_POLICY, "a policy needs a short name")
    _require_not_supervised(user=user, scopes=[checked_scope])
    try:
        with transaction.atomic():
            policy = Policy.objects.create(name=name, created_by=user)
    except IntegrityError as exc:
        raise ComplianceError(
            ComplianceErrorCode.INVALID_POLICY, f"a policy named {name!r} exists"
        ) from exc
    version = PolicyVersion.objects.create(
        policy=policy,
        number=1,
        enabled=enabled,
        conditions=checked_conditions,
        scope=checked_scope,
        sampling=_sampling(sampling),
        notify=_notify(notify, checked_actions),
        actions=checked_actions,
        note=note[:500],
        created_by=user,
    )
    _policy_set_changed()
    audit_event_record(
        actor=user, event_type=AuditEventType.POLICY_CREATED, details=_audit_details(version)
    )
    return version


@transaction.atomic
def policy_change(
    *,
    user: User,
    policy_id: int,
    conditions: object,
    actions: object,
    scope: object = None,
    sampling: object = None,
    notify: object = None,
    enabled: bool = True,
    note: str = "",
) -> PolicyVersion:
    """Write the policy's next version (its flags keep naming the version that raised them)."""
    require_compliance_officer(user=user)
    policy = Policy.objects.select_for_update().filter(pk=policy_id).first()
    if policy is None:
        raise ComplianceError(ComplianceErrorCode.NOT_FOUND, "no such policy")
    checked_conditions, checked_scope, checked_actions = _checked(conditions, scope, actions)
    _require_groups_exist(checked_scope)
    current = policy.versions.order_by("-number").first()
    assert current is not None  # a policy is created with its first version
    _require_not_supervised(user=user, scopes=[current.scope, checked_scope])
    version = PolicyVersion.objects.create(
        policy=policy,
        number=current.number + 1,
        enabled=enabled,
        conditions=checked_conditions,
        scope=checked_scope,
        sampling=_sampling(sampling),
        notify=_notify(notify, checked_actions),
        actions=checked_actions,
        note=note[:500],
        created_by=user,
    )
    _policy_set_changed()
    details = {**_audit_details(version), "previous_version": current.number}
    audit_event_record(actor=user, event_type=AuditEventType.POLICY_CHANGED, details=details)
    return version
