"""People for the console: a filtered, keyset-paged list over any number of users, and one
person's page. Reads only; nothing here is message content."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import BooleanField, Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from accounts.models import (
    ExternalIdentity,
    Group,
    GroupMembership,
    Role,
    RoleGrant,
    RoleRequest,
    RoleRequestStatus,
    User,
)
from accounts.selectors import AccessStanding, access_standing, api_tokens_of_user
from accounts.sso.selectors import MfaState, mfa_state
from eim.chat.selectors import sockets_of_user

from ..models import WebSession

PAGE_SIZE = 50
# "Last seen" (User.last_seen_at): the latest of a sign-in, a chat socket connecting and an
# API token used, to five minutes (accounts.services.users.user_seen; docs/console.md).
SEEN_CHOICES = {
    "7d": "Seen within 7 days",
    "30d": "Seen within 30 days",
    "90d+": "Not seen for 90 days",
    "never": "Never seen",
}
ACTIVE_CHOICES = {"yes": "Active", "no": "Deactivated"}


@dataclass(frozen=True)
class PeopleFilter:
    q: str = ""
    role: str = ""
    group: int | None = None
    active: str = ""
    provider: int | None = None  # 0: local accounts only (no identity provider)
    seen: str = ""
    after: str = ""  # the username the previous page ended with

    @property
    def narrows(self) -> bool:
        return bool(self.q or self.role or self.group or self.active or self.seen) or (
            self.provider is not None
        )


@dataclass
class PeoplePage:
    people: list[User]
    next_after: str | None
    roles: dict[int, list[str]] = field(default_factory=dict)
    providers: dict[int, list[str]] = field(default_factory=dict)


def _filtered(f: PeopleFilter, now: datetime) -> QuerySet[User]:
    users = User.objects.all()
    if f.q:
        users = users.filter(_text_contains(f.q))
    if f.role:
        users = users.filter(Exists(RoleGrant.objects.filter(user=OuterRef("pk"), role=f.role)))
    if f.group:
        users = users.filter(_in_group(f.group))
    if f.active in ACTIVE_CHOICES:
        users = users.filter(is_active=f.active == "yes")
    if f.provider is not None:
        linked = Exists(ExternalIdentity.objects.filter(user=OuterRef("pk")))
        if f.provider:
            linked = Exists(
                ExternalIdentity.objects.filter(user=OuterRef("pk"), provider_id=f.provider)
            )
            users = users.filter(linked)
        else:
            users = users.exclude(linked)
    return _seen(users, f.seen, now)


# The expression console/migrations/0002 indexes (trigram GIN): keep the two the same.
PEOPLE_TEXT = (
    "upper(username || ' ' || display_name || ' ' || first_name || ' ' || last_name"
    " || ' ' || email)"
)


def _text_contains(q: str) -> RawSQL:
    """Names or e-mail containing q, case-insensitively, as one indexed expression."""
    escaped = q.upper().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return RawSQL(  # noqa: S611 - constant SQL; q is a parameter, its wildcards escaped
        f"{PEOPLE_TEXT} LIKE %s ESCAPE '\\'",
        [f"%{escaped}%"],
        output_field=BooleanField(),
    )


# A group with at most this many members is searched from its members; a larger one (a
# fifth of 100,000 people) from the username order, where its members are found quickly.
SMALL_GROUP = 20_000


def _in_group(group_id: int) -> Q:
    """Left to itself the planner walks every user in username order to find a small group's
    members (300 ms for 500 of 100,000); from the members' ids it takes a few ms."""
    members = GroupMembership.objects.filter(group_id=group_id).values_list("user_id", flat=True)
    if members.count() <= SMALL_GROUP:
        return Q(pk__in=list(members))
    return Q(Exists(GroupMembership.objects.filter(user=OuterRef("pk"), group_id=group_id)))


def _seen(users: QuerySet[User], seen: str, now: datetime) -> QuerySet[User]:
    if seen == "7d":
        return users.filter(last_seen_at__gte=now - timedelta(days=7))
    if seen == "30d":
        return users.filter(last_seen_at__gte=now - timedelta(days=30))
    if seen == "90d+":
        return users.filter(last_seen_at__lt=now - timedelta(days=90))
    if seen == "never":
        return users.filter(last_seen_at__isnull=True)
    return users


def people_search(*, filters: PeopleFilter, limit: int = PAGE_SIZE) -> PeoplePage:
    """One page of people by username, after `filters.after` (keyset: constant cost per page,
    however deep). Their roles and identity providers come in one query each."""
    users = _filtered(filters, timezone.now())
    if filters.after:
        users = users.filter(username__gt=filters.after)
    rows = list(
        users.order_by("username").only(
            "pk",
            "username",
            "display_name",
            "first_name",
            "last_name",
            "is_active",
            "last_login",
            "last_seen_at",
        )[: limit + 1]
    )
    people, more = rows[:limit], len(rows) > limit
    ids = [p.pk for p in people]
    page = PeoplePage(people=people, next_after=people[-1].username if more else None)
    for user_id, role in RoleGrant.objects.filter(user_id__in=ids).values_list("user_id", "role"):
        page.roles.setdefault(user_id, []).append(role)
    for user_id, slug in ExternalIdentity.objects.filter(user_id__in=ids).values_list(
        "user_id", "provider__slug"
    ):
        page.providers.setdefault(user_id, []).append(slug)
    return page


@dataclass
class WebSessionShown:
    signed_in_at: datetime
    user_agent: str
    address: str | None


@dataclass
class PersonOverview:
    person: User
    roles: list[str]
    pending: list[RoleRequest]
    identities: list[ExternalIdentity]
    groups: list[Group]
    sessions: list[WebSessionShown]
    sockets: list[dict[str, object]]
    tokens: list[dict[str, object]]
    mfa: MfaState


def person_by_id(*, user_id: int) -> User | None:
    return User.objects.filter(pk=user_id).first()


def person_overview(*, person: User) -> PersonOverview:
    return PersonOverview(
        person=person,
        roles=sorted(RoleGrant.objects.filter(user=person).values_list("role", flat=True)),
        pending=list(
            RoleRequest.objects.filter(user=person, status=RoleRequestStatus.PENDING)
            .select_related("requested_by")
            .order_by("expires_at")
        ),
        identities=list(
            ExternalIdentity.objects.filter(user=person).select_related("provider").order_by("pk")
        ),
        groups=list(
            Group.objects.filter(memberships__user=person)
            .select_related("provider")
            .order_by("display_name")
        ),
        sessions=_open_web_sessions(person),
        sockets=sockets_of_user(user_id=person.pk),
        tokens=api_tokens_of_user(user_id=person.pk),
        mfa=mfa_state(user_id=person.pk),
    )


def _open_web_sessions(person: User) -> list[WebSessionShown]:
    """The person's recorded sign-ins whose sessions still hold (not signed out, not ended
    by a deactivation, a new password or sign out everywhere)."""
    recorded = WebSession.objects.filter(user=person).order_by("-signed_in_at")[:50]
    return [
        WebSessionShown(s.signed_in_at, s.user_agent, s.address)
        for s in recorded
        if access_standing(user_id=person.pk, session_key=s.session_key) == AccessStanding.VALID
    ]


ROLE_CHOICES = dict(Role.choices)
