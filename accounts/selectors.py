import enum
from collections.abc import Iterable
from datetime import datetime
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from knox.crypto import hash_token
from knox.models import AuthToken

from .errors import RoleError, RoleErrorCode
from .models import (
    ExternalIdentity,
    Group,
    GroupMembership,
    GroupRoleRule,
    Role,
    RoleGrant,
    RoleRequest,
    RoleRequestStatus,
    User,
)


def user_roles(*, user: User) -> set[Role]:
    """The roles in effect: granted, never merely requested; the superuser flag adds none."""
    return {Role(r) for r in RoleGrant.objects.filter(user=user).values_list("role", flat=True)}


def user_has_role(*, user: User, role: Role) -> bool:
    return RoleGrant.objects.filter(user=user, role=role).exists()


def user_is_active_administrator(*, user: User) -> bool:
    return user.is_active and user_has_role(user=user, role=Role.ADMINISTRATOR)


def _require_administrator(actor: User) -> None:
    if not user_is_active_administrator(user=actor):
        raise RoleError(
            RoleErrorCode.NOT_ADMINISTRATOR, "only an active administrator may see role grants"
        )


def role_grants_for_administrator(*, actor: User) -> QuerySet[RoleGrant]:
    """Every effective grant, for an administrator; anyone else is refused."""
    _require_administrator(actor)
    return RoleGrant.objects.select_related("user", "granted_by", "request__requested_by").order_by(
        "user__username", "role"
    )


def role_requests_pending_for_administrator(*, actor: User) -> QuerySet[RoleRequest]:
    """The requests still waiting for a second administrator (not yet expired)."""
    _require_administrator(actor)
    return (
        RoleRequest.objects.filter(status=RoleRequestStatus.PENDING, expires_at__gt=timezone.now())
        .select_related("user", "requested_by")
        .order_by("expires_at", "pk")
    )


def user_directory(
    *,
    query: str = "",
    ids: Iterable[int] = (),
    limit: int = 20,
    hidden_group_ids: Iterable[int] = (),
) -> QuerySet[User]:
    """Active people by name; members of `hidden_group_ids` left out (information barriers)."""
    users = User.objects.filter(is_active=True)
    hidden = set(hidden_group_ids)
    if hidden:
        users = users.exclude(pk__in=group_member_ids_query(group_ids=hidden))
    if ids:
        users = users.filter(id__in=set(ids))
    if query:
        users = users.filter(
            Q(username__icontains=query)
            | Q(display_name__icontains=query)
            | Q(first_name__icontains=query)
            | Q(last_name__icontains=query)
        )
    return users.order_by("username")[:limit]


def active_users_by_id(*, user_ids: Iterable[int]) -> QuerySet[User]:
    return User.objects.filter(id__in=set(user_ids), is_active=True)


def role_request_pending_id(*, user: User, role: str) -> int | None:
    """The id of the pending request for user to hold role (there is at most one)."""
    return (
        RoleRequest.objects.filter(user=user, role=role, status=RoleRequestStatus.PENDING)
        .values_list("pk", flat=True)
        .first()
    )


def user_mapped_roles(*, user_id: int) -> dict[str, str]:
    """The roles the person's identity-provider groups map to ({role: "slug:group value"}),
    from the GroupRoleRules of each group's provider: a rule names a group by its external id
    (a SCIM externalId or a claim value) or its display name (what Okta's groups claim sends).
    A deactivated person's groups map to nothing. One query."""
    in_group = GroupMembership.objects.filter(
        user_id=user_id,
        user__is_active=True,
        group__provider=OuterRef("provider"),
    ).filter(
        Q(group__external_id=OuterRef("group_value"))
        | Q(group__display_name=OuterRef("group_value"))
    )
    rules = (
        GroupRoleRule.objects.filter(Exists(in_group))
        .order_by("role", "group_value", "provider__slug")
        .values_list("role", "provider__slug", "group_value")
    )
    mapped: dict[str, str] = {}
    for role, slug, value in rules:
        mapped.setdefault(role, f"{slug}:{value}")
    return mapped


def api_token_expiry(*, secret: str) -> datetime | None:
    """When the token with this secret expires (told to whoever was just given it)."""
    return AuthToken.objects.values_list("expiry", flat=True).get(digest=hash_token(secret))


class AccessStanding(enum.StrEnum):
    """Whether a sign-in still holds (checked by long-lived connections, e.g. the chat socket)."""

    VALID = "valid"
    CREDENTIAL_ENDED = "credential_ended"  # the token or session it rode on is gone
    DEACTIVATED = "deactivated"


def access_standing(
    *, user_id: int, token_digest: str | None = None, session_key: str | None = None
) -> AccessStanding:
    """Does the user's sign-in, by this API token or this session, still hold?

    A token holds while it exists and has not expired; a session while it exists, names the
    user, and carries the user's current session hash (a password change or a deactivation
    changes it). One query for a token that holds, two for a session.
    """
    if token_digest is not None and _token_holds(token_digest, user_id):
        return AccessStanding.VALID
    user = User.objects.filter(pk=user_id).first()
    if user is None or not user.is_active:
        return AccessStanding.DEACTIVATED
    if session_key is not None and token_digest is None and _session_holds(session_key, user):
        return AccessStanding.VALID
    return AccessStanding.CREDENTIAL_ENDED


def token_sign_ins_ended(*, token_users: dict[str, int]) -> dict[str, AccessStanding]:
    """Of these API tokens (digest: its user's id), the ones that no longer hold, and why: the
    user was deactivated (their tokens are deleted then too), or the token was revoked or
    expired. One query while every token holds, two when some are gone."""
    now = timezone.now()
    held = dict(
        AuthToken.objects.filter(
            digest__in=list(token_users), user__is_active=True, expiry__gt=now
        ).values_list("digest", "user_id")
    )
    ended = {d: u for d, u in token_users.items() if held.get(d) != u}
    inactive = set(
        User.objects.filter(pk__in=set(ended.values()), is_active=False).values_list(
            "pk", flat=True
        )
        if ended
        else ()
    )
    return {
        digest: AccessStanding.DEACTIVATED
        if user_id in inactive
        else AccessStanding.CREDENTIAL_ENDED
        for digest, user_id in ended.items()
    }


def _token_holds(token_digest: str, user_id: int) -> bool:
    """The usual answer for a token, in one query (in SQL: building the ORM query cost more
    than running it)."""
    tokens, users = AuthToken._meta.db_table, User._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {tokens} t JOIN {users} u ON u.id = t.user_id "  # noqa: S608
            "WHERE t.digest = %s AND t.user_id = %s AND u.is_active AND t.expiry > %s",
            [token_digest, user_id, connection.ops.adapt_datetimefield_value(timezone.now())],
        )
        return cursor.fetchone() is not None


def _session_holds(session_key: str, user: User) -> bool:
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    data = store.load()
    return str(data.get(SESSION_KEY)) == str(user.pk) and constant_time_compare(
        data.get(HASH_SESSION_KEY) or "", user.get_session_auth_hash()
    )


def user_by_identity(*, issuer: str, subject: str) -> User | None:
    """The person an identity provider names (issuer, subject), if linked."""
    identity = (
        ExternalIdentity.objects.select_related("user")
        .filter(issuer=issuer, subject=subject)
        .first()
    )
    return identity.user if identity else None


def user_id_by_identity(*, issuer: str, subject: str) -> int | None:
    """The id of the person an identity provider names, if linked (no row built)."""
    return (
        ExternalIdentity.objects.filter(issuer=issuer, subject=subject)
        .values_list("user_id", flat=True)
        .first()
    )


def user_group_ids(*, user_id: int) -> frozenset[int]:
    return frozenset(
        GroupMembership.objects.filter(user_id=user_id).values_list("group_id", flat=True)
    )


def group_member_ids(*, group_id: int) -> frozenset[int]:
    return frozenset(
        GroupMembership.objects.filter(group_id=group_id).values_list("user_id", flat=True)
    )


def group_member_ids_query(*, group_ids: Iterable[int]) -> QuerySet[GroupMembership, Any]:
    """The ids of the members of any of these groups, as a query other queries can nest."""
    return GroupMembership.objects.filter(group_id__in=set(group_ids)).values("user_id")


def group_ids_of_users(*, user_ids: Iterable[int]) -> dict[int, frozenset[int]]:
    """{user id: the ids of the groups they are in}, for every given user (empty if none)."""
    ids = set(user_ids)
    found: dict[int, set[int]] = {user_id: set() for user_id in ids}
    rows = GroupMembership.objects.filter(user_id__in=ids).values_list("user_id", "group_id")
    for user_id, group_id in rows:
        found[user_id].add(group_id)
    return {user_id: frozenset(groups) for user_id, groups in found.items()}


def groups_by_id(*, group_ids: Iterable[int]) -> dict[int, Group]:
    return {g.pk: g for g in Group.objects.filter(pk__in=set(group_ids))}


def group_ids_of_user_and_usernames(
    *, user_id: int, usernames: Iterable[str], among_group_ids: Iterable[int]
) -> dict[int, frozenset[int]]:
    """{user id: their groups among `among_group_ids`} for one person and the people with these
    usernames, in one query (the information barriers' mention check, on the send path: in SQL
    because building the ORM queries cost more than running them)."""
    if connection.vendor != "postgresql":  # the embedded default (SQLite) has no ANY(array)
        return _group_ids_of_user_and_usernames_orm(user_id, usernames, among_group_ids)
    users, memberships = User._meta.db_table, GroupMembership._meta.db_table
    found: dict[int, set[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT u.id, m.group_id FROM {users} u LEFT JOIN {memberships} m "  # noqa: S608
            "ON m.user_id = u.id AND m.group_id = ANY(%s) "
            "WHERE u.id = %s OR u.username = ANY(%s)",
            [list(set(among_group_ids)), user_id, list(set(usernames))],
        )
        for row_user, group_id in cursor.fetchall():
            groups = found.setdefault(int(row_user), set())
            if group_id is not None:
                groups.add(int(group_id))
    return {user: frozenset(groups) for user, groups in found.items()}


# --- For the administrator's console (console/) ---------------------------------------------


def api_tokens_of_user(*, user_id: int) -> list[dict[str, object]]:
    """A person's API tokens as the console shows them: the key prefix (never the secret, which
    is not stored), when made, when it expires, when last used."""
    tokens = (
        AuthToken.objects.filter(user_id=user_id)
        .select_related("activity")
        .order_by("-created", "token_key")
    )
    return [
        {
            "token_key": token.token_key,
            "created": token.created,
            "expiry": token.expiry,
            "last_used_at": getattr(getattr(token, "activity", None), "last_used_at", None),
        }
        for token in tokens
    ]


def api_token_of_user(*, user_id: int, token_key: str) -> AuthToken | None:
    """The person's token with this key prefix (the console's handle on it), if any."""
    return AuthToken.objects.filter(user_id=user_id, token_key=token_key).first()


def _group_ids_of_user_and_usernames_orm(
    user_id: int, usernames: Iterable[str], among_group_ids: Iterable[int]
) -> dict[int, frozenset[int]]:
    ids = set(
        User.objects.filter(Q(pk=user_id) | Q(username__in=set(usernames))).values_list(
            "pk", flat=True
        )
    )
    among = set(among_group_ids)
    return {person: groups & among for person, groups in group_ids_of_users(user_ids=ids).items()}


def active_users_with_role(*, user_ids: Iterable[int], role: Role) -> list[User]:
    """The active users among `user_ids` who hold `role`, by id."""
    grants = RoleGrant.objects.filter(role=role).values("user_id")
    users = User.objects.filter(pk__in=set(user_ids), is_active=True).filter(pk__in=grants)
    return list(users.order_by("pk"))


def groups_with_member_counts() -> list[dict[str, Any]]:
    """Every group with its member count, by name (pickers: policy scopes, reviewer groups)."""
    rows = Group.objects.annotate(member_count=Count("memberships")).order_by("display_name", "pk")
    return [
        {"id": g.pk, "name": g.display_name, "source": g.source, "members": g.member_count}
        for g in rows
    ]
