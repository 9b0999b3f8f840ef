"""Groups and identity providers as the console shows them (never a provider's secret)."""

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet

from accounts.models import Group, GroupRoleRule, IdentityProvider, User

MEMBERS_SHOWN = 500
# config keys whose values are never shown back, only whether they are set.
SECRET_KEYS = frozenset({"client_secret", "secret", "private_key", "sp_private_key"})


def groups_listed() -> QuerySet[Group]:
    return (
        Group.objects.select_related("provider")
        .annotate(member_count=Count("memberships"))
        .order_by("source", "display_name", "pk")
    )


GROUPS_PAGE = 50


@dataclass
class GroupsPage:
    groups: list[Group]
    next_after: int | None  # the last group's id, when there is a next page


def groups_search(*, q: str = "", after: int | None = None, limit: int = GROUPS_PAGE) -> GroupsPage:
    """One page of groups by name (then id), after the group `after` (keyset: constant cost
    per page, however deep). Member counts for that page only, in one query."""
    groups = Group.objects.select_related("provider")
    if q:
        groups = groups.filter(display_name__icontains=q)
    if after is not None:
        last = Group.objects.filter(pk=after).values_list("display_name", flat=True).first()
        if last is not None:
            groups = groups.filter(Q(display_name__gt=last) | Q(display_name=last, pk__gt=after))
    rows = list(groups.order_by("display_name", "pk")[: limit + 1])
    shown = rows[:limit]
    counts = dict(
        Group.objects.filter(pk__in=[g.pk for g in shown])
        .annotate(n=Count("memberships"))
        .values_list("pk", "n")
    )
    for group in shown:
        group.member_count = counts.get(group.pk, 0)  # type: ignore[attr-defined]
    return GroupsPage(shown, shown[-1].pk if len(rows) > limit else None)


def group_by_id(*, group_id: int) -> Group | None:
    return Group.objects.select_related("provider").filter(pk=group_id).first()


@dataclass
class GroupOverview:
    group: Group
    member_count: int
    members: list[User]


def group_overview(*, group: Group) -> GroupOverview:
    members = User.objects.filter(group_memberships__group=group).order_by("username")
    return GroupOverview(
        group=group, member_count=members.count(), members=list(members[:MEMBERS_SHOWN])
    )


def providers_listed() -> QuerySet[IdentityProvider]:
    return IdentityProvider.objects.annotate(
        identity_count=Count("identities", distinct=True)
    ).order_by("name")


def provider_by_id(*, provider_id: int) -> IdentityProvider | None:
    return IdentityProvider.objects.filter(pk=provider_id).first()


def provider_rules(*, provider: IdentityProvider) -> list[GroupRoleRule]:
    return list(provider.role_rules.select_related("created_by").order_by("group_value", "role"))


def provider_rule_by_id(*, provider: IdentityProvider, rule_id: int) -> GroupRoleRule | None:
    return provider.role_rules.filter(pk=rule_id).first()


def provider_config_shown(*, provider: IdentityProvider) -> dict[str, Any]:
    """The provider's config with every secret replaced by whether it is set."""
    return {
        key: ("(set)" if value else "(not set)") if key in SECRET_KEYS else value
        for key, value in sorted(provider.config.items())
    }
