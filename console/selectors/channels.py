"""Conversations as the console shows them: metadata and members, never a message."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from accounts.models import User
from eim.chat.models import Conversation, ConversationKind, MemberRole, Membership

PAGE_SIZE = 50
MEMBERS_SHOWN = 500
KIND_CHOICES = dict(ConversationKind.choices)


@dataclass(frozen=True)
class ChannelFilter:
    q: str = ""
    kind: str = ""
    archived: str = ""  # "yes" | "no" | ""
    before: int | None = None  # the id the previous page ended with (newest first)


@dataclass
class ChannelPage:
    channels: Sequence[Conversation]
    next_before: int | None
    owners: dict[int, list[str]] = field(default_factory=dict)


def _filtered(f: ChannelFilter) -> QuerySet[Conversation]:
    conversations = Conversation.objects.all()
    if f.q:
        conversations = conversations.filter(name__icontains=f.q.lstrip("#"))
    if f.kind in KIND_CHOICES:
        conversations = conversations.filter(kind=f.kind)
    if f.archived == "yes":
        conversations = conversations.filter(archived_at__isnull=False)
    elif f.archived == "no":
        conversations = conversations.filter(archived_at__isnull=True)
    if f.before is not None:
        conversations = conversations.filter(pk__lt=f.before)
    return conversations


def channels_search(*, filters: ChannelFilter, limit: int = PAGE_SIZE) -> ChannelPage:
    rows = list(
        _filtered(filters)
        .annotate(member_count=Count("memberships"))
        .order_by("-pk")
        .only("pk", "kind", "name", "created_at", "archived_at", "direct_key")[: limit + 1]
    )
    shown, more = rows[:limit], len(rows) > limit
    result = ChannelPage(channels=shown, next_before=shown[-1].pk if more else None)
    for conversation_id, username in Membership.objects.filter(
        conversation_id__in=[c.pk for c in shown], role=MemberRole.OWNER
    ).values_list("conversation_id", "user__username"):
        result.owners.setdefault(conversation_id, []).append(username)
    return result


@dataclass
class ChannelOverview:
    conversation: Conversation
    member_count: int
    members: list[Membership]
    owners: list[Membership]


def channel_by_id(*, conversation_id: int) -> Conversation | None:
    return Conversation.objects.filter(pk=conversation_id).first()


def channel_overview(*, conversation: Conversation) -> ChannelOverview:
    memberships = Membership.objects.filter(conversation=conversation).select_related("user")
    members = list(memberships.order_by("-role", "user__username")[:MEMBERS_SHOWN])
    return ChannelOverview(
        conversation=conversation,
        member_count=memberships.count(),
        members=members,
        owners=[m for m in memberships.filter(role=MemberRole.OWNER)],
    )


def users_by_usernames(*, usernames: list[str]) -> tuple[list[int], list[str]]:
    """(ids found, usernames not found): the console's add forms take usernames."""
    found = dict(
        User.objects.filter(Q(username__in=usernames), is_active=True).values_list("username", "pk")
    )
    return [found[u] for u in usernames if u in found], [u for u in usernames if u not in found]
