"""Group → role mapping kept true: a person holds the roles their identity-provider groups map
to (GroupRoleRule), and loses a mapped role when they leave the last group that maps it.

Whatever changes a membership (a SCIM create, replace, PATCH or delete of a group, a sign-in's
groups claim), a person's standing (deactivation, reactivation), a group's name or external id
(what rules name it by) or the rules themselves calls `role_mapping_sync` for the people
concerned after its commit (the role services each run in their own durable
transaction). `role_mappings_reconcile` (Celery beat) catches whatever a lost after-commit
call never did. The role rules still apply: a role under four eyes only becomes a pending
request, never a grant, and a role granted by hand (not from a rule) is never revoked here.
"""

import logging
from collections.abc import Iterable

from django.db.models import Exists, OuterRef, Q

from accounts.errors import RoleError
from accounts.models import (
    Group,
    GroupMembership,
    GroupRoleRule,
    RoleGrant,
    RoleRequest,
    RoleRequestStatus,
)
from accounts.selectors import group_member_ids, user_mapped_roles

from .access import AccessChange
from .roles import role_request_mapped, role_request_withdraw_mapped, role_revoke_mapped

logger = logging.getLogger(__name__)

LEFT = "no longer in a group that maps this role"


def role_mapping_sync(*, user_id: int) -> None:
    """Make the person's mapped roles what their groups say now: revoke mapped grants and
    withdraw pending mapped requests no group asks for any more (first, so that a role the
    exclusivity rules would refuse next to them can follow), then ask for the rest. A
    refusal by the role rules is audited there and does not stop the others."""
    wanted = user_mapped_roles(user_id=user_id)
    grants = list(
        RoleGrant.objects.filter(user_id=user_id).values_list("role", "request__mapped_from")
    )
    held = {role for role, _ in grants}
    mapped_grants = {role for role, mapped_from in grants if mapped_from}
    pending_rows = list(
        RoleRequest.objects.filter(user_id=user_id, status=RoleRequestStatus.PENDING).values_list(
            "role", "mapped_from", "pk"
        )
    )
    pending = {role for role, _, _ in pending_rows}
    for role in sorted(mapped_grants - set(wanted)):
        _try(role_revoke_mapped, user_id=user_id, role=role, reason=LEFT)
    for role, mapped_from, request_id in sorted(pending_rows):
        if mapped_from and role not in wanted:
            _try(role_request_withdraw_mapped, request_id=request_id, reason=LEFT)
    for role, source in sorted(wanted.items()):
        if role not in held and role not in pending:
            _try(role_request_mapped, user_id=user_id, role=role, source=source)


def _try(action: object, **kwargs: object) -> None:
    try:
        action(**kwargs)  # type: ignore[operator]
    except RoleError as exc:  # audited by the role service
        logger.warning("group role mapping %s refused: %s", kwargs, exc)


def role_mapping_group_members_changed(
    group_id: int, added: frozenset[int], removed: frozenset[int]
) -> None:
    """`group_members_hook`: sync the people who left (if they hold or wait for a mapped role)
    and those who joined (if a rule names the group)."""
    concerned: set[int] = set()
    if removed:
        concerned |= _with_mapped_roles(removed)
    if added and _group_is_mapped(group_id):
        concerned |= set(added)
    for user_id in sorted(concerned):
        role_mapping_sync(user_id=user_id)


def role_mapping_group_renamed(group_id: int) -> None:
    """`group_renamed_hook`: rules name a group by its display name or external id, so a
    renamed group may start or stop mapping a role for every member at once."""
    members = group_member_ids(group_id=group_id)
    role_mapping_group_members_changed(group_id, members, members)


def role_mapping_rule_changed(provider_id: int, group_value: str) -> None:
    """After a rule was added or removed: sync the members of the provider's groups it names
    (a person who left them earlier was synced then, or by the sweeper)."""
    named = GroupMembership.objects.filter(group__provider_id=provider_id).filter(
        Q(group__external_id=group_value) | Q(group__display_name=group_value)
    )
    for user_id in sorted(set(named.values_list("user_id", flat=True))):
        role_mapping_sync(user_id=user_id)


def role_mapping_access_changed(user_id: int, change: AccessChange) -> None:
    """`access_hook`: a deactivated person holds no mapped role and waits for none."""
    if change == AccessChange.DEACTIVATED:
        role_mapping_sync(user_id=user_id)


def role_mappings_reconcile() -> int:
    """Sync everyone a rule names through a group, or who holds or waits for a mapped role:
    the sweeper for a lost after-commit call. Returns how many people it looked at."""
    rule_named = GroupRoleRule.objects.filter(provider=OuterRef("group__provider")).filter(
        Q(group_value=OuterRef("group__external_id"))
        | Q(group_value=OuterRef("group__display_name"))
    )
    members = set(
        GroupMembership.objects.filter(Exists(rule_named)).values_list("user_id", flat=True)
    )
    people = sorted(members | _with_mapped_roles(None))
    for user_id in people:
        role_mapping_sync(user_id=user_id)
    return len(people)


def _with_mapped_roles(user_ids: Iterable[int] | None) -> set[int]:
    grants = RoleGrant.objects.exclude(request__isnull=True).exclude(request__mapped_from="")
    requests = RoleRequest.objects.filter(status=RoleRequestStatus.PENDING, mapped_from__gt="")
    if user_ids is not None:
        ids = set(user_ids)
        grants, requests = grants.filter(user_id__in=ids), requests.filter(user_id__in=ids)
    return set(grants.values_list("user_id", flat=True)) | set(
        requests.values_list("user_id", flat=True)
    )


def _group_is_mapped(group_id: int) -> bool:
    group = Group.objects.filter(pk=group_id, provider__isnull=False).first()
    if group is None:
        return False
    names = {group.display_name, group.external_id} - {""}
    return GroupRoleRule.objects.filter(
        provider_id=group.provider_id, group_value__in=names
    ).exists()
