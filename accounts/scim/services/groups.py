"""Groups provisioned by SCIM: `source=scim` groups of the token's identity provider, written
through `accounts.services.groups` (which audits and tells role mapping and barriers).

A SCIM group's `external_id` is the externalId the identity provider sends (Entra ID sends
its object id, as in its groups claim), or empty; its SCIM id is the group's primary key.
"""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from accounts.models import Group, GroupSource
from accounts.services.groups import (
    group_create,
    group_delete,
    group_members_add,
    group_members_remove,
    group_members_set,
    group_update,
)

from ..errors import ScimError, ScimType, invalid_value
from ..models import ScimGroupRecord, ScimToken
from ..patch import GroupChanges
from ..payloads import GroupData
from ..selectors import scim_groups, scim_user_ids_in_scope
from .users import via


def _member_ids(token: ScimToken, values: Iterable[str]) -> set[int]:
    """The people named, all of whom must have been provisioned under this token's binding."""
    wanted = {int(value) for value in values}
    found = scim_user_ids_in_scope(token=token, user_ids=wanted)
    missing = wanted - found
    if missing:
        shown = ", ".join(str(i) for i in sorted(missing)[:5])
        raise invalid_value(f"members: no such user {shown}")
    return found


def _check_unique(
    token: ScimToken, display_name: str, external_id: str, group: Group | None
) -> None:
    others = scim_groups(token=token)
    if group is not None:
        others = others.exclude(pk=group.pk)
    if others.filter(display_name__iexact=display_name).exists():
        raise ScimError(409, f"a group named {display_name!r} exists", ScimType.UNIQUENESS)
    clashing = Group.objects.filter(provider=token.provider, external_id=external_id)
    if group is not None:
        clashing = clashing.exclude(pk=group.pk)
    if external_id and clashing.exists():
        raise ScimError(409, "externalId is taken", ScimType.UNIQUENESS)


def _claimed(token: ScimToken, external_id: str) -> Group | None:
    """The group a sign-in's groups claim made under this externalId (Entra ID sends a group's
    object id both ways): SCIM takes that row over rather than making a twin."""
    if token.provider is None or not external_id:
        return None
    return Group.objects.filter(
        provider=token.provider, external_id=external_id, source=GroupSource.SSO
    ).first()


def _touch(group: Group) -> None:
    ScimGroupRecord.objects.update_or_create(
        group=group, defaults={"last_modified": timezone.now()}
    )


@transaction.atomic
def scim_group_create(*, token: ScimToken, data: GroupData) -> Group:
    claimed = _claimed(token, data.external_id)
    if claimed is not None:
        return _take_over(token, claimed, data)
    _check_unique(token, data.display_name, data.external_id, None)
    members = _member_ids(token, data.member_ids)
    group = group_create(  # a concurrent twin raises IntegrityError: the view answers 409
        actor=None,
        display_name=data.display_name,
        source=GroupSource.SCIM,
        provider=token.provider,
        external_id=data.external_id,
        via=via(token),
    )
    group_members_add(actor=None, group=group, user_ids=members, via=via(token))
    _touch(group)
    return group


def _take_over(token: ScimToken, group: Group, data: GroupData) -> Group:
    """One IdP group, one row: the claim group becomes the SCIM group (same id for barrier
    segments and role rules), and its members are from now on what SCIM says, as a POST
    states them. Sign-ins no longer change a SCIM group's members."""
    return _replace(token, group, data, source=GroupSource.SCIM)


@transaction.atomic
def scim_group_replace(*, token: ScimToken, group: Group, data: GroupData) -> Group:
    return _replace(token, group, data)


def _replace(
    token: ScimToken, group: Group, data: GroupData, source: GroupSource | None = None
) -> Group:
    _check_unique(token, data.display_name, data.external_id, group)
    members = _member_ids(token, data.member_ids)
    group_update(
        actor=None,
        group=group,
        display_name=data.display_name,
        external_id=data.external_id,
        source=source,
        via=via(token),
    )
    group_members_set(actor=None, group=group, user_ids=members, via=via(token))
    _touch(group)
    return group


@transaction.atomic
def scim_group_patch(*, token: ScimToken, group: Group, changes: GroupChanges) -> Group:
    if changes.display_name is not None or changes.external_id is not None:
        _check_unique(
            token,
            changes.display_name or group.display_name,
            changes.external_id if changes.external_id is not None else "",
            group,
        )
        group_update(
            actor=None,
            group=group,
            display_name=changes.display_name,
            external_id=changes.external_id,
            via=via(token),
        )
    if changes.members is not None:
        members = _member_ids(token, changes.members)
        group_members_set(actor=None, group=group, user_ids=members, via=via(token))
    if changes.added:
        added = _member_ids(token, changes.added)
        group_members_add(actor=None, group=group, user_ids=added, via=via(token))
    if changes.removed:
        # Removing someone who is not (or no longer) there is no error: IdPs retry.
        removed = {int(value) for value in changes.removed}
        group_members_remove(actor=None, group=group, user_ids=removed, via=via(token))
    _touch(group)
    return group


@transaction.atomic
def scim_group_delete(*, token: ScimToken, group: Group) -> None:
    group_delete(actor=None, group=group, via=via(token))
