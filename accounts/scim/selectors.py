"""Reads of SCIM provisioning. A token sees only the people and groups provisioned under its
own binding (its identity provider, or none): never local accounts, never another provider's."""

from collections.abc import Iterable
from datetime import datetime

from django.db import connection
from django.db.models import Q, QuerySet

from accounts.models import Group, GroupMembership, GroupSource, User

from .models import ScimGroupRecord, ScimToken


def scim_token_by_name(*, name: str) -> ScimToken | None:
    return ScimToken.objects.select_related("provider").filter(name=name).first()


def scim_tokens_listed() -> QuerySet[ScimToken]:
    """Every SCIM token, newest first, for the console; the digest is never shown."""
    return ScimToken.objects.select_related("provider").order_by("-created_at", "-pk")


def scim_token_by_id(*, token_id: int) -> ScimToken | None:
    return ScimToken.objects.select_related("provider").filter(pk=token_id).first()


def _provider_q(prefix: str, token: ScimToken) -> Q:
    if token.provider_id is None:
        return Q(**{f"{prefix}provider__isnull": True})
    return Q(**{f"{prefix}provider_id": token.provider_id})


def scim_users(*, token: ScimToken) -> QuerySet[User]:
    return (
        User.objects.filter(scim__isnull=False)
        .filter(_provider_q("scim__", token))
        .select_related("scim", "scim__manager")
    )


def scim_user(*, token: ScimToken, user_id: str) -> User | None:
    if not user_id.isdigit() or len(user_id) > 18:
        return None
    return scim_users(token=token).filter(pk=int(user_id)).first()


def scim_user_ids_in_scope(*, token: ScimToken, user_ids: Iterable[int]) -> set[int]:
    return set(scim_users(token=token).filter(pk__in=set(user_ids)).values_list("pk", flat=True))


def scim_username_taken(*, username: str, except_user_id: int | None = None) -> bool:
    """userName is unique across everyone (SCIM's is case-insensitive), local accounts too."""
    taken = User.objects.filter(username__iexact=username)
    if except_user_id is not None:
        taken = taken.exclude(pk=except_user_id)
    return taken.exists()


# One statement instead of two ORM queries: a push creates people one request at a time, and
# building the two queries cost more than running them (docs/performance.md, "SCIM").
_CREATION_CLASHES = """
    SELECT
        EXISTS (SELECT 1 FROM accounts_user WHERE UPPER(username::text) = UPPER(%s)),
        (SELECT user_id FROM accounts_externalidentity WHERE issuer = %s AND subject = %s)
"""


def scim_creation_clashes(*, username: str, issuer: str, subject: str) -> tuple[bool, int | None]:
    """For a new person under a provider-bound token: whether the userName is taken
    (case-insensitive, as `scim_username_taken`) and who the identity (issuer, externalId)
    is linked to, if anyone (as `accounts.selectors.user_id_by_identity`)."""
    with connection.cursor() as cursor:
        cursor.execute(_CREATION_CLASHES, [username, issuer, subject])
        taken, linked = cursor.fetchone()
    return bool(taken), linked


def scim_groups(*, token: ScimToken) -> QuerySet[Group]:
    return Group.objects.filter(source=GroupSource.SCIM).filter(_provider_q("", token))


def scim_group(*, token: ScimToken, group_id: str) -> Group | None:
    if not group_id.isdigit() or len(group_id) > 18:
        return None
    return scim_groups(token=token).filter(pk=int(group_id)).first()


def scim_group_members(*, group_ids: Iterable[int]) -> dict[int, list[tuple[int, str]]]:
    """Each group's members as (user id, shown name), in one query."""
    members: dict[int, list[tuple[int, str]]] = {group_id: [] for group_id in group_ids}
    rows = (
        GroupMembership.objects.filter(group_id__in=list(members))
        .order_by("group_id", "user_id")
        .values_list("group_id", "user_id", "user__display_name", "user__username")
    )
    for group_id, user_id, display_name, username in rows:
        members[group_id].append((user_id, display_name or username))
    return members


def scim_group_last_modified(*, group_ids: Iterable[int]) -> dict[int, datetime]:
    return dict(
        ScimGroupRecord.objects.filter(group_id__in=list(group_ids)).values_list(
            "group_id", "last_modified"
        )
    )
