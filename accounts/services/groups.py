"""Groups and their members: the one write path for SCIM, sign-in claims, the console and
commands.

`actor` is the administrator who acts, or None for provisioning that authenticated itself
another way (a SCIM token, a sign-in's groups claim); `via` then says which, for the audit
trail. Membership changes are set operations over many people at once (a SCIM PATCH may carry
10,000 members), recorded as one audit event each way. Apps above accounts react to membership
changes (role mapping, information barriers) through `group_members_hook`, after commit.
"""

from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction

from accounts.errors import RoleError, RoleErrorCode
from accounts.models import Group, GroupMembership, GroupSource, IdentityProvider, User
from accounts.selectors import user_is_active_administrator
from audit.models import AuditEventType
from audit.services import audit_event_record

MembersHook = Callable[[int, frozenset[int], frozenset[int]], None]
_members_hooks: list[MembersHook] = []


def group_members_hook(hook: MembersHook) -> None:
    """Call `hook(group_id, added_user_ids, removed_user_ids)` after each membership change."""
    _members_hooks.append(hook)


RenamedHook = Callable[[int], None]
_renamed_hooks: list[RenamedHook] = []


def group_renamed_hook(hook: RenamedHook) -> None:
    """Call `hook(group_id)` after a group's display name or external id changed (what role
    rules name a group by)."""
    _renamed_hooks.append(hook)


def _require_administrator(actor: User | None) -> None:
    if actor is not None and not user_is_active_administrator(user=actor):
        raise RoleError(RoleErrorCode.NOT_ADMINISTRATOR, "only an administrator manages groups")


def _record(
    actor: User | None, event_type: AuditEventType, group: Group, via: str, **details: Any
) -> None:
    audit_event_record(
        actor=actor,
        event_type=event_type,
        details={
            "group_id": group.pk,
            "display_name": group.display_name,
            "source": group.source,
            "via": via,
            **details,
        },
    )


@transaction.atomic
def group_create(
    *,
    actor: User | None,
    display_name: str,
    source: GroupSource = GroupSource.LOCAL,
    provider: IdentityProvider | None = None,
    external_id: str = "",
    via: str = "console",
) -> Group:
    _require_administrator(actor)
    group = Group.objects.create(
        display_name=display_name, source=source, provider=provider, external_id=external_id
    )
    _record(actor, AuditEventType.GROUP_CREATED, group, via, provider_id=group.provider_id)
    return group


@transaction.atomic
def group_update(
    *,
    actor: User | None,
    group: Group,
    display_name: str | None = None,
    external_id: str | None = None,
    source: GroupSource | None = None,
    via: str = "console",
) -> Group:
    """`source` changes only when SCIM takes over a group a sign-in claim made (one IdP group,
    one row: docs/scim.md, "Groups")."""
    _require_administrator(actor)
    changes: dict[str, str] = {}
    if display_name is not None and display_name != group.display_name:
        changes["display_name"] = display_name
    if external_id is not None and external_id != group.external_id:
        changes["external_id"] = external_id
    if source is not None and source != group.source:
        changes["source"] = source
    if changes:
        Group.objects.filter(pk=group.pk).update(**changes)
        group.refresh_from_db()
        _record(actor, AuditEventType.GROUP_UPDATED, group, via, changes=changes)
    if {"display_name", "external_id"} & set(changes):
        _on_commit_renamed(group.pk)
    return group


@transaction.atomic
def group_delete(*, actor: User | None, group: Group, via: str = "console") -> None:
    _require_administrator(actor)
    removed = frozenset(group.memberships.values_list("user_id", flat=True))
    group_id = group.pk
    _record(actor, AuditEventType.GROUP_DELETED, group, via, members=len(removed))
    group.delete()
    _on_commit_members_changed(group_id, frozenset(), removed)


@transaction.atomic
def group_members_add(
    *, actor: User | None, group: Group, user_ids: Iterable[int], via: str = "console"
) -> frozenset[int]:
    """Add people; those already in the group are left as they are. Returns who was added."""
    _require_administrator(actor)
    wanted = set(User.objects.filter(pk__in=set(user_ids)).values_list("pk", flat=True))
    present = set(group.memberships.filter(user_id__in=wanted).values_list("user_id", flat=True))
    added = frozenset(wanted - present)
    if added:
        GroupMembership.objects.bulk_create(
            [GroupMembership(group=group, user_id=user_id) for user_id in sorted(added)],
            ignore_conflicts=True,
        )
        _record(actor, AuditEventType.GROUP_MEMBERS_ADDED, group, via, user_ids=sorted(added))
        _on_commit_members_changed(group.pk, added, frozenset())
    return added


@transaction.atomic
def group_members_remove(
    *, actor: User | None, group: Group, user_ids: Iterable[int], via: str = "console"
) -> frozenset[int]:
    """Remove people; those not in the group are ignored. Returns who was removed."""
    _require_administrator(actor)
    memberships = group.memberships.filter(user_id__in=set(user_ids))
    removed = frozenset(memberships.values_list("user_id", flat=True))
    if removed:
        memberships.delete()
        _record(actor, AuditEventType.GROUP_MEMBERS_REMOVED, group, via, user_ids=sorted(removed))
        _on_commit_members_changed(group.pk, frozenset(), removed)
    return removed


@transaction.atomic
def group_members_set(
    *, actor: User | None, group: Group, user_ids: Iterable[int], via: str = "console"
) -> tuple[frozenset[int], frozenset[int]]:
    """Make the members exactly `user_ids` (a SCIM replace). Returns (added, removed)."""
    wanted = set(user_ids)
    present = set(group.memberships.values_list("user_id", flat=True))
    removed = group_members_remove(actor=actor, group=group, user_ids=present - wanted, via=via)
    added = group_members_add(actor=actor, group=group, user_ids=wanted - present, via=via)
    return added, removed


def _on_commit_renamed(group_id: int) -> None:
    for hook in _renamed_hooks:
        transaction.on_commit(lambda hook=hook: hook(group_id))  # type: ignore[misc]


def _on_commit_members_changed(
    group_id: int, added: frozenset[int], removed: frozenset[int]
) -> None:
    for hook in _members_hooks:
        transaction.on_commit(lambda hook=hook: hook(group_id, added, removed))  # type: ignore[misc]
